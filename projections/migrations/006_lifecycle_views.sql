-- The lifecycle and anomaly views were defined here; all views now live in
-- projections/views.sql, applied on every start. Kept so version numbers stay as applied.
SELECT 1;
