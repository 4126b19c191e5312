# Replaced by build.py in every artifact; these values are the source tree's own (development).
VERSION = "0.0.0.dev0"
SCHEMA = 3
FAULT = "none"
FAULT_HOSTS = ()
