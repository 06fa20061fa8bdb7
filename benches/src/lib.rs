//! benchkit
