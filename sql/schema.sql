-- schema: the typed tables of a snapshot, exactly the columns of SPEC section 2
-- in spec order. Loaders create these and insert validated rows (extra source
-- columns are appended after these with ALTER TABLE). No parameters.
CREATE TABLE snacks (
    snack_id    BIGINT  NOT NULL,
    name        VARCHAR NOT NULL,
    category    VARCHAR NOT NULL,
    launched_on DATE    NOT NULL,
    active      BOOLEAN NOT NULL
);
CREATE TABLE snack_tags (
    snack_id BIGINT  NOT NULL,
    tag      VARCHAR NOT NULL
);
CREATE TABLE users (
    user_id      BIGINT  NOT NULL,
    status       VARCHAR NOT NULL,
    box_size     INTEGER NOT NULL,
    cadence_days INTEGER NOT NULL,
    next_ship_on DATE    NOT NULL
);
CREATE TABLE skips (
    user_id BIGINT NOT NULL,
    ship_on DATE   NOT NULL
);
CREATE TABLE user_ng (
    user_id BIGINT  NOT NULL,
    tag     VARCHAR NOT NULL
);
CREATE TABLE user_prefs (
    user_id  BIGINT  NOT NULL,
    category VARCHAR NOT NULL,
    weight   INTEGER NOT NULL
);
CREATE TABLE deliveries (
    user_id    BIGINT NOT NULL,
    snack_id   BIGINT NOT NULL,
    shipped_on DATE   NOT NULL
);
CREATE TABLE ratings (
    user_id  BIGINT    NOT NULL,
    snack_id BIGINT    NOT NULL,
    rating   INTEGER   NOT NULL,
    rated_at TIMESTAMP NOT NULL
);
CREATE TABLE requests (
    user_id      BIGINT    NOT NULL,
    snack_id     BIGINT    NOT NULL,
    requested_at TIMESTAMP NOT NULL
);
CREATE TABLE stock (
    snack_id    BIGINT  NOT NULL,
    lot_id      VARCHAR NOT NULL,
    quantity    INTEGER NOT NULL,
    best_before DATE    NOT NULL
);
