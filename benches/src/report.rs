//! Reading criterion estimates (being written).
