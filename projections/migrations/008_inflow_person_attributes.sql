-- Inflow by nationality, age band and sex (docs/projections.md): the person's attributes from
-- the latest effective IdentityRegistered, the age band on the day counted. Rows written
-- before this migration say UNKNOWN until their person is folded again (`ketenlog replay`
-- rebuilds them all).
ALTER TABLE inflow_items
    ADD COLUMN nationality text NOT NULL DEFAULT 'UNKNOWN',   -- ISO 3166-1 alpha-3
    ADD COLUMN age_band    text NOT NULL DEFAULT 'UNKNOWN',   -- 0-13, 14-17, 18-34, 35-64, 65+
    ADD COLUMN sex         text NOT NULL DEFAULT 'UNKNOWN';   -- F, M, X
