"""One run from launch to verdict: supervise, watch for hangs, capture a stuck machine,
decode, check, judge the console and the guest's exit, write verdict.json."""
