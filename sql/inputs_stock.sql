-- inputs_stock: every lot with its snack index, in FEFO order per snack:
-- (best_before, lot_id) with lot_id compared as bytes. Empty lots are kept
-- (the summary reports them) and passed over when taking units. No parameters.
SELECT s.sidx, l.lot_id, l.quantity, l.best_before
FROM stock l JOIN eng_snacks s USING (snack_id)
ORDER BY s.sidx, l.best_before, l.lot_id
