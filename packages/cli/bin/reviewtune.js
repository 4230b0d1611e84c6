#!/usr/bin/env node
// The installed `reviewtune` command: a committed file, so npm links it before the first build.
import "../dist/bin.js";
