#!/usr/bin/env bash
# Create Saylau's topics on the compose Kafka cluster. Run once by the `kafka-topics` service
# of docker-compose.yml (apache/kafka image); safe to run again (--if-not-exists).
#
# The names must be those of infra/topics.py: PREFIX.SUFFIX for every event topic of
# ingest/contract.py, the rejected topic and the alerts topic (tests/infra/test_compose.py checks the list).
# An existing topic is left as it is: adding partitions later would move keys (stations)
# to other partitions in the middle of the day.
set -euo pipefail

TOPIC_SUFFIXES="checkins turnout incidents exitpolls protocols assignments rejected alerts"

bootstrap="${SAYLAU_KAFKA_BOOTSTRAP:?set SAYLAU_KAFKA_BOOTSTRAP}"
prefix="${SAYLAU_TOPIC_PREFIX:-saylau}"
partitions="${SAYLAU_TOPIC_PARTITIONS:-12}"
replication="${TOPIC_REPLICATION_FACTOR:-3}"
min_insync="${TOPIC_MIN_INSYNC_REPLICAS:-2}"

for suffix in $TOPIC_SUFFIXES; do
    # Retention and min.insync.replicas are set on the topic too, so the archive does not
    # depend on the brokers' defaults staying as they are.
    /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$bootstrap" --create --if-not-exists \
        --topic "$prefix.$suffix" --partitions "$partitions" \
        --replication-factor "$replication" \
        --config "min.insync.replicas=$min_insync" --config retention.ms=-1
done
/opt/kafka/bin/kafka-topics.sh --bootstrap-server "$bootstrap" --describe \
    --topic "^$prefix\\..*"
