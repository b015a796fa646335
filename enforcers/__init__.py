"""What runs inside users' pipelines: validators, Kafka and batch enforcement, reporting."""
