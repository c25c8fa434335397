"""Several clients in one household: who is online (``directory``), commands run across clients
(``relay``), and the other servers behind a balancer, through an MQTT broker (``broker``,
``federation``)."""
