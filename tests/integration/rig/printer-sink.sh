#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The "print" command of the test printer (ippeveprinter -c): keeps each document
# it is given, with the job's IPP_* environment beside it, in $SINK_DIR, and
# reports impressions (pages of a PDF, else 1) the way ippeveprinter reads them.
doc="$1"
dir="${SINK_DIR:?SINK_DIR is not set}"
mkdir -p "$dir"
seq=$(find "$dir" -name '*.env' | wc -l)
tag=$(printf 'job%04d' "$seq")
cp "$doc" "$dir/$tag.doc"
env | grep -E '^(IPP_|CONTENT_TYPE=)' | sort > "$dir/$tag.env.tmp"
mv "$dir/$tag.env.tmp" "$dir/$tag.env"
pages=1
if [ "$CONTENT_TYPE" = application/pdf ]; then
  pages=$(pdfinfo "$doc" 2>/dev/null | sed -n 's/^Pages: *//p')
  [ -n "$pages" ] || pages=1
fi
echo "ATTR: job-impressions=$pages" >&2
echo "ATTR: job-impressions-completed=$pages" >&2
exit 0
