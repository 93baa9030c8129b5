-- inputs_categories: category names in cidx order. No parameters.
SELECT cidx, category FROM eng_cats ORDER BY cidx
