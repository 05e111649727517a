"""The moto server for the AWS adapter tests, answering one request at a time.

DynamoDB applies each write, with its condition, atomically; moto's own server runs requests
on threads and does not, so two racing conditional writes could both succeed there. Served one
at a time, moto keeps DynamoDB's promise and the race tests test the adapters, not moto.

usage: python3 scripts/moto_server.py PORT
"""

import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

if __name__ == "__main__":
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, app, threaded=False)
