from stacktasks import collection

ns = collection()
