"""One package per domain; `registry` is the one module that names them."""
