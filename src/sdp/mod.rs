//! SDP: a small model of our own (parse, write) and offer/answer negotiation.
