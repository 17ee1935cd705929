#!/usr/bin/env bash
# Regenerates the demo prompts in config/prompts (8 kHz, 16-bit, mono WAV) with espeak-ng
# and sox: `apt-get install espeak-ng sox`. The generated files are committed, so running
# the demo needs neither tool.
set -euo pipefail
cd "$(dirname "$0")/../config/prompts"
say() { # name text
  espeak-ng -v en-us -s 150 -w "/tmp/$1.raw.wav" "$2"
  sox "/tmp/$1.raw.wav" -r 8000 -b 16 -c 1 "$1.wav" norm -3
  rm -f "/tmp/$1.raw.wav"
}
say welcome "Thank you for calling switchboard. For billing, press 1. For technical support, press 2. To enter your account number, press 3. For the operator, press 0."
say invalid "Sorry, that is not a valid choice."
say enter-account "Please enter your six digit account number."
say goodbye "Thank you for calling. Goodbye."
say all-busy "All our agents are busy at the moment. Please stay on the line, your call is important to us."
say callback-offer "To be called back without losing your place in line, press 5."
say callback-confirmed "Thank you. We will call you back when it is your turn. Goodbye."
say position "You are caller number"
say wait-about "Your expected waiting time is about"
say minutes "minutes"
say less-than-a-minute "less than one minute"
for n in 1 2 3 4 5 6 7 8 9 10; do
  say "n$n" "$n"
done
say agent-connecting "Connecting you to an agent now."
say campaign-message "Hello, this is switchboard calling. We are sorry we missed you. We will call you back later."
# Music on hold: a slow arpeggio, 8 seconds, looped by the player.
sox -n -r 8000 -b 16 -c 1 moh.wav synth 1 pluck C4 synth 1 pluck E4 : synth 1 pluck G4 : synth 1 pluck C5 : \
  synth 1 pluck G4 : synth 1 pluck E4 : synth 1 pluck D4 : synth 1 pluck G3 vol 0.5
# Agent feature codes (*71 login, *72 logout, *73 ready, *74 not ready).
say agent-logged-in "You are logged in."
say agent-logged-out "You are logged out."
say agent-ready "You are ready."
say agent-not-ready "You are not ready."
say agent-refused "Sorry, that did not work."
