#!/usr/bin/env node
// Drives the official Kaltura Node client (npm `kaltura-client`) against a (fake) Kaltura
// server. The Node client speaks JSON (`format: 1`) with native numbers. Covers session,
// media, baseEntry, eSearch, user, the Kaltura Meetings schedule flow and a multirequest.
//
// Usage: node node_client.js URL PARTNER_ID ADMIN_SECRET
// Needs:  npm install --prefix tests/official_clients kaltura-client@21.20.0
// Exit status: 0 when every check passes, 1 on the first mismatch, 2 when the package is
// not installed.
'use strict';

let kaltura;
try {
  kaltura = require('kaltura-client');
} catch (e) {
  console.error('official Kaltura Node client not installed: ' + e.message);
  process.exit(2);
}

function check(cond, what) {
  if (!cond) {
    console.error('FAIL: ' + what);
    process.exit(1);
  }
  console.log('ok: ' + what);
}

async function expectError(code, promise, what) {
  try {
    await promise;
  } catch (err) {
    check(err && err.code === code, `${what} -> ${code} (got ${JSON.stringify(err)})`);
    return err;
  }
  check(false, `${what} should fail with ${code}`);
}

async function main() {
  const [url, pidArg, secret] = process.argv.slice(2);
  if (!secret) {
    console.error('usage: node node_client.js URL PARTNER_ID ADMIN_SECRET');
    process.exit(64);
  }
  const partnerId = Number(pidArg);
  const config = new kaltura.Configuration();
  config.serviceUrl = url;
  const client = new kaltura.Client(config);

  const ks = await kaltura.services.session
    .start(secret, 'admin', kaltura.enums.SessionType.ADMIN, partnerId)
    .execute(client);
  check(typeof ks === 'string' && ks.startsWith('djJ8'), 'session.start returns a v2 KS');
  await expectError(
    'START_SESSION_ERROR',
    kaltura.services.session.start('wrong', 'admin', kaltura.enums.SessionType.ADMIN, partnerId).execute(client),
    'session.start with a wrong secret'
  );
  client.setKs(ks);

  const entry = await kaltura.services.media
    .add(new kaltura.objects.MediaEntry({
      mediaType: kaltura.enums.MediaType.VIDEO,
      name: 'Node entry',
      tags: 'node,official',
    }))
    .execute(client);
  check(entry.objectType === 'KalturaMediaEntry' && entry.id.startsWith('0_'), 'media.add');
  check(entry.mediaType === 1 && entry.partnerId === partnerId, 'media.add returns numbers as numbers');

  const got = await kaltura.services.media.get(entry.id).execute(client);
  check(got.name === 'Node entry', 'media.get');
  await expectError('ENTRY_ID_NOT_FOUND', kaltura.services.media.get('0_nope').execute(client), 'media.get unknown id');

  const listed = await kaltura.services.media
    .listAction(new kaltura.objects.MediaEntryFilter({ nameLike: 'node' }), new kaltura.objects.FilterPager({ pageSize: 10 }))
    .execute(client);
  check(listed.totalCount === 1 && listed.objects[0].id === entry.id, 'media.list nameLike');

  const base = await kaltura.services.baseEntry
    .listAction(new kaltura.objects.BaseEntryFilter({ idEqual: entry.id }))
    .execute(client);
  check(base.objectType === 'KalturaBaseEntryListResponse' && base.totalCount === 1, 'baseEntry.list idEqual');

  const found = await kaltura.services.eSearch
    .searchEntry(
      new kaltura.objects.ESearchEntryParams({
        searchOperator: new kaltura.objects.ESearchEntryOperator({
          operator: kaltura.enums.ESearchOperatorType.AND_OP,
          searchItems: [new kaltura.objects.ESearchUnifiedItem({
            searchTerm: 'official',
            itemType: kaltura.enums.ESearchItemType.PARTIAL,
          })],
        }),
      }),
      new kaltura.objects.Pager({ pageSize: 5 })
    )
    .execute(client);
  check(found.totalCount === 1 && found.objects[0].object.id === entry.id, 'eSearch searchEntry');
  check(JSON.stringify(found.objects[0].highlight).includes('<em>official</em>'), 'eSearch highlight');

  const user = await kaltura.services.user
    .add(new kaltura.objects.User({ id: 'node_user_1', firstName: 'No', lastName: 'De' }))
    .execute(client);
  check(user.id === 'node_user_1' && user.fullName === 'No De', 'user.add');
  const gotUser = await kaltura.services.user.get('node_user_1').execute(client);
  check(gotUser.firstName === 'No', 'user.get');
  await expectError(
    'DUPLICATE_USER_BY_ID',
    kaltura.services.user.add(new kaltura.objects.User({ id: 'node_user_1' })).execute(client),
    'user.add duplicate'
  );

  // Kaltura Meetings: room, session, link (schedule plugin services)
  const room = await kaltura.services.scheduleResource
    .add(new kaltura.objects.LocationScheduleResource({ name: 'Node room', tags: 'vcprovider:newrow' }))
    .execute(client);
  check(room.objectType === 'KalturaLocationScheduleResource' && room.id > 0, 'scheduleResource.add');
  const event = await kaltura.services.scheduleEvent
    .add(new kaltura.objects.RecordScheduleEvent({
      summary: 'Node meeting',
      startDate: 1900000000,
      endDate: 1900003600,
      recurrenceType: kaltura.enums.ScheduleEventRecurrenceType.NONE,
      tags: 'custom_rs_class_mode:virtual_classroom',
    }))
    .execute(client);
  check(event.objectType === 'KalturaRecordScheduleEvent' && event.duration === 3600, 'scheduleEvent.add');
  const link = await kaltura.services.scheduleEventResource
    .add(new kaltura.objects.ScheduleEventResource({ eventId: event.id, resourceId: room.id }))
    .execute(client);
  check(link.eventId === event.id && link.resourceId === room.id, 'scheduleEventResource.add');
  const links = await kaltura.services.scheduleEventResource
    .listAction(new kaltura.objects.ScheduleEventResourceFilter({ eventIdEqual: event.id }))
    .execute(client);
  check(links.totalCount === 1, 'scheduleEventResource.list eventIdEqual');
  const gotEvent = await kaltura.services.scheduleEvent.get(event.id).execute(client);
  check(gotEvent.summary === 'Node meeting', 'scheduleEvent.get');
  const cancelled = await kaltura.services.scheduleEvent.cancel(event.id).execute(client);
  check(cancelled.status === kaltura.enums.ScheduleEventStatus.CANCELLED, 'scheduleEvent.cancel');

  const results = await kaltura.services.session
    .get()
    .add(kaltura.services.media.listAction(new kaltura.objects.MediaEntryFilter({ idEqual: entry.id })))
    .add(kaltura.services.media.get('{2:result:objects:0:id}'))
    .add(kaltura.services.media.get('0_nope'))
    .execute(client);
  check(Array.isArray(results) && results.length === 4, 'multirequest returns 4 results');
  check(results[0].objectType === 'KalturaSessionInfo' && results[0].sessionType === 2, 'multirequest session.get');
  check(results[2].id === entry.id, 'multirequest back-reference');
  check(results[3].code === 'ENTRY_ID_NOT_FOUND', 'multirequest inline error');

  console.log('all official Node client checks passed');
}

main().catch((err) => {
  console.error('FAIL: unexpected error: ' + (err && err.stack ? err.stack : JSON.stringify(err)));
  process.exit(1);
});
