//! `firehose_stream`: a Kinesis Data Firehose delivery stream to S3 (direct put),
//! the log pipeline of the field notes. Updated in place through UpdateDestination
//! with the stream's current version id; waits until ACTIVE.

use super::schema::{Attr, Default, Kind, NameDefault, TypeSchema};

const BUFFERING: Kind = Kind::Object(&[
    Attr::new("size_mb", Kind::Int { min: 1, max: 128 }).default(Default::Int(5)),
    Attr::new("interval_seconds", Kind::Int { min: 0, max: 900 }).default(Default::Int(300)),
]);

const LOGGING: Kind = Kind::Object(&[
    Attr::new("enabled", Kind::Bool).default(Default::Bool(true)),
    Attr::new("log_group", Kind::String).required(),
    Attr::new("log_stream", Kind::String).required(),
]);

const S3: Kind = Kind::Object(&[
    Attr::new("bucket_arn", Kind::String).required(),
    Attr::new("prefix", Kind::String),
    Attr::new("error_output_prefix", Kind::String),
    Attr::new("buffering", BUFFERING).default(Default::Json("{}")),
    Attr::new(
        "compression",
        Kind::Enum(&["UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY"]),
    )
    .default(Default::Str("UNCOMPRESSED")),
    Attr::new("cloudwatch_logging", LOGGING),
]);

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "firehose_stream",
    doc: "A Kinesis Data Firehose delivery stream to S3 (direct put). Changed in place; apply waits until it is ACTIVE.",
    attrs: &[
        Attr::new("name", Kind::String)
            .doc("The stream name; <stack>-<name> when unset.")
            .force_new(),
        Attr::new("role_arn", Kind::String)
            .doc("The role Firehose takes to write to the bucket.")
            .required(),
        Attr::new("s3", S3)
            .doc("The S3 destination: bucket, prefixes, buffering, compression, logging.")
            .required(),
    ],
    exports: &["id", "name", "arn"],
    name_attr: Some(("name", NameDefault::StackAndName("--"))),
    id_format: "its delivery stream name",
    ..TypeSchema::BASE
};
