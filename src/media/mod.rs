//! Media: RTP/RTCP packets, RFC 4733 DTMF, quality, G.711, and the anchored relay.
