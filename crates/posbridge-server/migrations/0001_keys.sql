-- posbridge-server: API keys. `id` is the key's public part (printed by `posbridge keys
-- list`); `hash` is the SHA-256 of the whole key, hex. A NULL tenant is an operator key.
-- Times are Unix milliseconds (UTC).
CREATE TABLE posbridge_server_keys (
    id         TEXT   PRIMARY KEY,
    tenant     TEXT,
    hash       TEXT   NOT NULL,
    label      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
