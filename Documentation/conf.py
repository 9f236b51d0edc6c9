# Sphinx settings for qrep's documentation: make docs builds it into
# build/docs, and the docs test (selftests/build/docs.sh) fails on any
# warning, a broken cross-reference included.
project = "qrep"
root_doc = "index"
# The generic netlink family's YAML spec is read by tools, not Sphinx.
exclude_patterns = ["netlink/*.yaml"]
nitpicky = True
