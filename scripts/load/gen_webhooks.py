#!/usr/bin/env python3
"""Pre-computes N distinct signed Kaltura HTTP notifications for webhooks-ingest.lua.

Usage: gen_webhooks.py N SECRET OUT [FIRST_JOB_ID]

Each line of OUT is `<hex sha256(secret || body)>\t<body>`: a raw-JSON
`KalturaHttpNotification` (entry status changed to READY) with its own
`eventNotificationJobId`, signed as Kaltura signs (plain hash of the partner's admin secret
followed by the raw body, `X-KALTURA-HASH-ALGO: sha256`). Independent of the Rust code.
"""
import hashlib
import json
import sys


def body(job_id: int) -> str:
    entry_id = "0_ld%06d" % (job_id % 1_000_000)
    notification = {
        "object": {
            "id": entry_id,
            "name": "Load test lecture %d" % job_id,
            "description": "Recorded lecture used by the ingest load test. " * 8,
            "partnerId": 12345,
            "userId": "teacher@example.org",
            "creatorId": "teacher@example.org",
            "tags": "load,lecture,test",
            "categories": "Lectures>Physics",
            "categoriesIds": "101",
            "status": 2,
            "moderationStatus": 6,
            "type": 1,
            "mediaType": 1,
            "duration": 3725,
            "msDuration": 3725000,
            "createdAt": 1780000000,
            "updatedAt": 1780000000 + job_id % 1000,
            "thumbnailUrl": "https://cfvod.kaltura.com/p/12345/sp/1234500/thumbnail/entry_id/%s/version/100002" % entry_id,
            "downloadUrl": "https://cfvod.kaltura.com/p/12345/sp/1234500/playManifest/entryId/%s/format/download" % entry_id,
            "plays": 0,
            "views": 0,
            "objectType": "KalturaMediaEntry",
        },
        "eventObjectType": "1",
        "eventNotificationJobId": job_id,
        "templateId": 45,
        "templateName": "Entry Status Equals Ready (kaltura-discord)",
        "templateSystemName": "KD_HTTP_ENTRY_STATUS_EQUALS",
        "eventType": "3",
        "objectType": "KalturaHttpNotification",
    }
    return json.dumps(notification, separators=(",", ":"))


def main() -> None:
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    n, secret, out = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
    first = int(sys.argv[4]) if len(sys.argv) == 5 else 1_000_000
    with open(out, "w", encoding="utf-8") as f:
        for job_id in range(first, first + n):
            b = body(job_id)
            sig = hashlib.sha256(secret + b.encode()).hexdigest()
            f.write("%s\t%s\n" % (sig, b))


if __name__ == "__main__":
    main()
