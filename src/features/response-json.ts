/**
 * The JSON text of an online response, as the route's schema serializer wrote it. Lists that
 * several columns share (a view's event times, the key columns' statuses) are written once and
 * reused: they are most of a wide response's text.
 */
import type { OnlineResponse } from './types.js';

export function onlineResponseJson(res: OnlineResponse): string {
  const texts = new Map<unknown[], string>();
  const once = (list: unknown[]) => {
    let text = texts.get(list);
    if (text === undefined) texts.set(list, (text = JSON.stringify(list)));
    return text;
  };
  let out = `{"metadata":{"feature_names":${JSON.stringify(res.metadata.feature_names)}},"results":[`;
  res.results.forEach((r, i) => {
    out += `${i === 0 ? '' : ','}{"values":${JSON.stringify(r.values)},"statuses":${once(r.statuses)},"event_timestamps":${once(r.event_timestamps)}}`;
  });
  return `${out}]}`;
}
