//! The Redis wire protocol: request decoding and reply encoding. Knows
//! nothing of commands, keys or the runtime.

pub mod arg;
pub mod decode;
pub mod reply;

pub use arg::{args_of, to_owned_args, Arg, SentArgs};
pub use decode::{decode, Limits, Progress, ProtocolError, Request};
pub use reply::Reply;
