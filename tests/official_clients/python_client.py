#!/usr/bin/env python3
"""Drives the official Kaltura Python client against a (fake) Kaltura server.

Usage: python3 python_client.py URL PARTNER_ID ADMIN_SECRET

Needs: pip install KalturaApiClient lxml pycryptodome
Exit status: 0 when every check passes, 1 on the first mismatch, 2 when the client
package is not installed.

Covers session.start, media.add/get/list, baseEntry.list, eSearch searchEntry,
user.add/get, the Kaltura Meetings schedule flow (scheduleResource.add, scheduleEvent.add/get/
cancel, scheduleEventResource.add/list) and a multirequest with a back-reference and an inline
error.
"""

import sys

try:
    from KalturaClient import KalturaClient, KalturaConfiguration
    from KalturaClient.exceptions import KalturaException
    from KalturaClient.Plugins.Core import (
        KalturaBaseEntryFilter,
        KalturaFilterPager,
        KalturaMediaEntry,
        KalturaMediaEntryFilter,
        KalturaMediaType,
        KalturaPager,
        KalturaSessionType,
        KalturaUser,
    )
    from KalturaClient.Plugins.ElasticSearch import (
        KalturaESearchEntryOperator,
        KalturaESearchEntryParams,
        KalturaESearchItemType,
        KalturaESearchOperatorType,
        KalturaESearchUnifiedItem,
    )
    from KalturaClient.Plugins.Schedule import (
        KalturaLocationScheduleResource,
        KalturaRecordScheduleEvent,
        KalturaScheduleEventRecurrenceType,
        KalturaScheduleEventResource,
        KalturaScheduleEventResourceFilter,
        KalturaScheduleEventStatus,
    )
except ImportError as e:  # pragma: no cover - environment dependent
    print("official Kaltura Python client not installed: %s" % e, file=sys.stderr)
    sys.exit(2)


def check(cond, what):
    if not cond:
        print("FAIL: " + what, file=sys.stderr)
        sys.exit(1)
    print("ok: " + what)


def expect_error(code, fn, what):
    try:
        fn()
    except KalturaException as e:
        check(e.code == code, "%s -> %s (got %s: %s)" % (what, code, e.code, e))
        return e
    check(False, "%s should fail with %s" % (what, code))


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    url, partner_id, admin_secret = sys.argv[1], int(sys.argv[2]), sys.argv[3]

    config = KalturaConfiguration(partner_id)
    config.serviceUrl = url
    client = KalturaClient(config)

    # session.start
    ks = client.session.start(admin_secret, "admin", KalturaSessionType.ADMIN, partner_id, 86400, "")
    check(isinstance(ks, str) and ks.startswith("djJ8"), "session.start returns a v2 KS")
    expect_error(
        "START_SESSION_ERROR",
        lambda: client.session.start("wrong", "admin", KalturaSessionType.ADMIN, partner_id),
        "session.start with a wrong secret",
    )
    expect_error("MISSING_KS", lambda: client.media.get("0_whatever"), "media.get without KS")
    client.setKs(ks)

    # media.add / get / list
    entry = KalturaMediaEntry()
    entry.name = "Python <client> & entry"
    entry.description = "added by the official python client"
    entry.tags = "python,official"
    entry.mediaType = KalturaMediaType.VIDEO
    added = client.media.add(entry)
    check(isinstance(added, KalturaMediaEntry), "media.add returns a KalturaMediaEntry")
    check(added.id.startswith("0_"), "media.add assigns an id like 0_xxxxxxxx")
    check(added.name == entry.name, "media.add keeps the name (XML escaping)")
    check(added.mediaType.getValue() == KalturaMediaType.VIDEO, "media.add keeps mediaType")
    check(added.partnerId == partner_id, "media.add sets partnerId")

    got = client.media.get(added.id)
    check(got.id == added.id and got.tags == "python,official", "media.get returns the entry")
    expect_error("ENTRY_ID_NOT_FOUND", lambda: client.media.get("0_nope"), "media.get unknown id")

    f = KalturaMediaEntryFilter()
    f.nameLike = "<client>"
    listed = client.media.list(f, KalturaFilterPager(pageSize=10))
    check(listed.totalCount == 1 and listed.objects[0].id == added.id, "media.list nameLike")

    bf = KalturaBaseEntryFilter()
    bf.idEqual = added.id
    base = client.baseEntry.list(bf)
    check(base.totalCount == 1 and base.objects[0].name == entry.name, "baseEntry.list idEqual")

    # eSearch
    item = KalturaESearchUnifiedItem()
    item.searchTerm = "official"
    item.itemType = KalturaESearchItemType.PARTIAL
    op = KalturaESearchEntryOperator()
    op.operator = KalturaESearchOperatorType.AND_OP
    op.searchItems = [item]
    params = KalturaESearchEntryParams()
    params.searchOperator = op
    pager = KalturaPager()
    pager.pageSize = 5
    found = client.elasticSearch.eSearch.searchEntry(params, pager)
    check(found.totalCount == 1, "eSearch finds the entry (totalCount=%s)" % found.totalCount)
    result = found.objects[0]
    check(result.object.id == added.id, "eSearch result object is the entry")
    fields = {h.fieldName: [x.value for x in h.hits] for h in result.highlight}
    check(
        any("<em>official</em>" in v for v in fields.get("description", []) + fields.get("tags", [])),
        "eSearch highlights the match: %r" % fields,
    )

    # user.add / get
    user = KalturaUser()
    user.id = "py_user_1"
    user.firstName = "Py"
    user.lastName = "Thon"
    user.email = "py@example.com"
    created = client.user.add(user)
    check(created.id == "py_user_1" and created.fullName == "Py Thon", "user.add")
    got_user = client.user.get("py_user_1")
    check(got_user.email == "py@example.com", "user.get")
    expect_error("DUPLICATE_USER_BY_ID", lambda: client.user.add(user), "user.add duplicate")
    expect_error("INVALID_USER_ID", lambda: client.user.get("nobody"), "user.get unknown")

    # Kaltura Meetings: room, session, link (schedule plugin services)
    room = KalturaLocationScheduleResource()
    room.name = "Python room"
    room.tags = "vcprovider:newrow"
    room = client.schedule.scheduleResource.add(room)
    check(isinstance(room, KalturaLocationScheduleResource) and room.id > 0, "scheduleResource.add")
    event = KalturaRecordScheduleEvent()
    event.summary = "Python meeting"
    event.startDate = 1900000000
    event.endDate = 1900003600
    event.recurrenceType = KalturaScheduleEventRecurrenceType.NONE
    event.tags = "custom_rs_class_mode:webinar"
    event = client.schedule.scheduleEvent.add(event)
    check(isinstance(event, KalturaRecordScheduleEvent) and event.duration == 3600, "scheduleEvent.add")
    link = KalturaScheduleEventResource()
    link.eventId = event.id
    link.resourceId = room.id
    link = client.schedule.scheduleEventResource.add(link)
    check(link.eventId == event.id and link.resourceId == room.id, "scheduleEventResource.add")
    lf = KalturaScheduleEventResourceFilter()
    lf.eventIdEqual = event.id
    links = client.schedule.scheduleEventResource.list(lf)
    check(links.totalCount == 1, "scheduleEventResource.list eventIdEqual")
    got_event = client.schedule.scheduleEvent.get(event.id)
    check(got_event.summary == "Python meeting", "scheduleEvent.get")
    cancelled = client.schedule.scheduleEvent.cancel(event.id)
    check(cancelled.status.getValue() == KalturaScheduleEventStatus.CANCELLED, "scheduleEvent.cancel")
    expect_error(
        "SCHEDULE_EVENT_ID_NOT_FOUND",
        lambda: client.schedule.scheduleEvent.get(999999),
        "scheduleEvent.get unknown id",
    )

    # multirequest with a back-reference and an inline error
    client.startMultiRequest()
    client.session.get()
    lf = KalturaMediaEntryFilter()
    lf.idEqual = added.id
    res = client.media.list(lf)
    client.media.get(res.objects[0].id)
    client.media.get("0_nope")
    results = client.doMultiRequest()
    check(len(results) == 4, "multirequest returns 4 results")
    check(results[0].partnerId == partner_id and results[0].sessionType.getValue() == 2, "multirequest session.get")
    check(results[1].totalCount == 1, "multirequest media.list")
    check(getattr(results[2], "id", None) == added.id, "multirequest back-reference {2:result:objects:0:id}")
    check(isinstance(results[3], KalturaException) and results[3].code == "ENTRY_ID_NOT_FOUND", "multirequest inline error")

    print("all official Python client checks passed")


if __name__ == "__main__":
    main()
