# TimescaleDB server with pgTAP available (for the test profile; harmless otherwise).
ARG TIMESCALEDB_IMAGE=timescale/timescaledb:2.28.0-pg16
FROM ${TIMESCALEDB_IMAGE}
ARG PGTAP_VERSION=1.3.3
USER root
RUN apk add --no-cache --virtual .pgtap-build make perl curl unzip \
 && curl -fsSL -o /tmp/pgtap.zip "https://api.pgxn.org/dist/pgtap/${PGTAP_VERSION}/pgtap-${PGTAP_VERSION}.zip" \
 && unzip -q /tmp/pgtap.zip -d /tmp \
 && make -C "/tmp/pgtap-${PGTAP_VERSION}" install \
 && rm -rf /tmp/pgtap* \
 && apk del .pgtap-build
USER postgres
