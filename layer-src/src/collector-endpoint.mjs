/** The collector extension's OTLP/HTTP receiver, listening on loopback only. */
export const DEFAULT_TRACES_URL = 'http://127.0.0.1:4318/v1/traces';
