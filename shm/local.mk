# shm: fragment owned by the shm module.
