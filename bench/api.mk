# bench/api.mk: ./dev bench api
