# nginx: fragment owned by the nginx module.
