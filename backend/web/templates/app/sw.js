// The apps' service worker (scope /app/). Pages: the network first (a fresh page when online), the cached copy
// offline. Static files: the cache (their addresses carry their fingerprint). The API and the sockets: never
// cached, never answered from a cache. The cache name and the lists below are filled in by backend/web/apps.py.
"use strict";
const CACHE = "__CACHE__";
const FILES = __FILES__;
const PAGES = __PAGES__;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll([...FILES, ...PAGES])).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("eldercare-app-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== location.origin) return;
  if (url.pathname.startsWith("/web/static/")) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  } else if (PAGES.includes(url.pathname)) {
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
          }
          return response;
        })
        .catch(() => caches.match(url.pathname)),
    );
  }
});
