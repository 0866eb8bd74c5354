-- Placeholder on the distproc branch only: 016 is another helper's migration (session 7).
-- Drop this file when merging; it exists so that 017 has no gap here.
SELECT 1;
