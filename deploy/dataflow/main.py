"""Dataflow Flex Template entry point: the template's parameters are ``ascolto run`` flags."""

import sys

from pipelines.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "--runner", "DataflowRunner", *sys.argv[1:]]))
