// placeholder; implementation in progress
