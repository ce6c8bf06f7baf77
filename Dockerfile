# The API image; Neo4j runs in its own container (docker-compose.yml).
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends gcc libgomp1 libjemalloc2 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY kg kg
COPY ingest ingest
COPY search_api search_api
COPY ontology ontology
COPY sopkg sopkg
COPY sample_corpus sample_corpus
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["sopkg", "serve"]
