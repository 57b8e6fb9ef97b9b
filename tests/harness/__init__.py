"""The test services: a MariaDB writer/reader pair and a local AWS API, on loopback only."""
