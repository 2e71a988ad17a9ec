-- One database per service, all owned by the application role (runs once, on an empty volume).
CREATE DATABASE intake;
CREATE DATABASE kpi;
CREATE DATABASE notify;
