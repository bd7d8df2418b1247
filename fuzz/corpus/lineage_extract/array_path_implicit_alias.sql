SELECT e.name
FROM ds.events, events.params AS e
