// The app shell, cached so the app opens with no connection. Reports are not handled here:
// the page keeps them in IndexedDB and sends them itself (see app.js, the outbox).
const VERSION = "saylau-fieldapp-1";
const SHELL = ["./", "index.html", "app.js", "app.css", "manifest.json", "icon.svg",
               "config.json", "i18n/en.json", "i18n/kk.json", "i18n/ru.json"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(VERSION).then((cache) => cache.addAll(SHELL))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(
    keys.filter((key) => key !== VERSION).map((key) => caches.delete(key))))
    .then(() => self.clients.claim()));
});

// Network first (a fresh shell when the gateway answers), the cache when it does not.
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || !url.pathname.startsWith("/app/")) return;
  event.respondWith(fetch(event.request).then((response) => {
    if (response.ok) {
      const copy = response.clone();
      caches.open(VERSION).then((cache) => cache.put(event.request, copy));
    }
    return response;
  }).catch(() => caches.match(event.request, {ignoreSearch: true})
    .then((hit) => hit || caches.match("index.html"))));
});
