# bench/shm.mk: ./dev bench shm
