SELECT * FROM `my-project.my_dataset.my_table`
JOIN my-project.other.t2 USING (id)
JOIN `my-project`.`ds`.`T3` USING (id)
JOIN `ds.Mixed_Case` USING (id)
