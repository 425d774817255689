/* The WeCom JS-SDK (vendor/wecom-jssdk, loaded only inside WeCom) behind three promises, with the
   browser's own ways as the fallback the callers use when these reject:
     Toolbox.wecom.chooseImage(n) → [Blob]   Toolbox.wecom.getLocation() → {lat, lng}
     Toolbox.wecom.scanQRCode() → text
   Signatures come from GET /api/v1/wecom/jsapi-config?url=… (wx.config and wx.agentConfig). When WeCom
   refuses them as stale (40093 invalid signature, 42012 ticket unavailable) the page asks once for
   fresh tickets (refresh=1) and reloads; its forms keep their drafts. */
(function () {
  "use strict";
  var Toolbox = window.Toolbox = window.Toolbox || {};
  var body = document.body;
  var configUrl = body.getAttribute("data-jsapi-config");
  var sdk = window.ww;
  var APIS = ["chooseImage", "getLocalImgData", "getLocation", "scanQRCode"];
  var registered = null;

  function available() { return !!(sdk && configUrl && body.getAttribute("data-in-wecom") === "1"); }
  function pageUrl() { return location.href.split("#")[0]; }
  function signatures(refresh) {
    var url = configUrl + "?url=" + encodeURIComponent(pageUrl()) + (refresh ? "&refresh=1" : "");
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error("jsapi-config " + r.status);
      return r.json();
    });
  }
  function onFail(result) {
    var text = JSON.stringify(result || {});
    if (!/40093|42012/.test(text)) return;
    try {
      if (sessionStorage.getItem("tbx-jssdk-refreshed") === pageUrl()) return;  // once per page
      sessionStorage.setItem("tbx-jssdk-refreshed", pageUrl());
    } catch (e) { return; }
    signatures(true).then(function () { location.reload(); }).catch(function () { /* stay on the fallbacks */ });
  }
  function register() {
    if (!available()) return Promise.reject(new Error("WeCom JS-SDK unavailable"));
    if (!registered) {
      registered = signatures(false).then(function (cfg) {
        sdk.register({
          corpId: cfg.config.corpId, agentId: cfg.agentConfig.agentId, jsApiList: APIS,
          getConfigSignature: function () { return cfg.config; },
          getAgentConfigSignature: function () { return cfg.agentConfig; },
          onConfigFail: onFail, onAgentConfigFail: onFail
        });
        return cfg;
      });
    }
    return registered;
  }
  function toBlob(localData) {
    var base64 = String(localData).replace(/^data:[^,]*,/, "");
    var bytes = atob(base64), buffer = new Uint8Array(bytes.length);
    for (var i = 0; i < bytes.length; i++) buffer[i] = bytes.charCodeAt(i);
    return new File([buffer], "wecom.jpg", { type: "image/jpeg" });
  }

  Toolbox.wecom = {
    available: available,
    chooseImage: function (count) {
      return register().then(function () {
        return sdk.chooseImage({ count: Math.min(count || 9, 9), sizeType: ["compressed"], sourceType: ["camera", "album"] });
      }).then(function (res) {
        return Promise.all((res.localIds || []).map(function (id) {
          return sdk.getLocalImgData({ localId: id }).then(function (r) { return toBlob(r.localData); });
        }));
      });
    },
    getLocation: function () {
      return register().then(function () { return sdk.getLocation({ type: "wgs84" }); }).then(function (res) {
        return { lat: Number(res.latitude), lng: Number(res.longitude) };
      });
    },
    scanQRCode: function () {
      return register().then(function () {
        return sdk.scanQRCode({ needResult: true, scanType: ["qrCode"] });
      }).then(function (res) { return res.resultStr; });
    }
  };

  if (available()) {
    // Inside WeCom: offer the SDK's camera next to each photo input (the input stays as a fallback).
    Array.prototype.forEach.call(document.querySelectorAll("input[type=file][data-photos]"), function (input) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.setAttribute("data-wecom-pick", "");
      button.textContent = "拍照 / 从相册选择";
      input.parentNode.insertBefore(button, input);
    });
    register().catch(function () { /* fallbacks */ });
  }
})();
