# bench/broker.mk: ./dev bench broker
