/* Starts rasa-webchat against Rasa's socketio channel; config comes from /config.js (web/serve.py). */
(function () {
  "use strict";
  var config = window.NORDVIK_CHAT || {};
  var supported = ["en", "sv", "nb", "zh-TW"];

  // The page's language: ?lang=sv in the address, else the browser's; the bot greets in it and
  // keeps it until the customer writes in another language.
  function pageLanguage() {
    var asked = new URLSearchParams(window.location.search).get("lang");
    var wanted = (asked || navigator.language || "en").toLowerCase();
    if (wanted.indexOf("zh") === 0) { return "zh-TW"; }
    if (wanted.indexOf("nb") === 0 || wanted.indexOf("no") === 0 || wanted.indexOf("nn") === 0) { return "nb"; }
    if (wanted.indexOf("sv") === 0) { return "sv"; }
    return supported[0];
  }

  var language = pageLanguage();
  var labels = (config.labels || {})[language.slice(0, 2)] || (config.labels || {}).en || {};
  var widget = { current: null };
  window.NordvikChat = {
    widget: widget,
    send: function (text) {
      if (!widget.current || !widget.current.sendMessage) { return false; }
      if (window.WebChat && window.WebChat.open) { window.WebChat.open(); }
      widget.current.sendMessage(text, text);  // (payload, text shown as the customer's)
      return true;
    }
  };

  window.WebChat.default({
    innerRef: widget,
    socketUrl: config.socketUrl,
    socketPath: config.socketPath || "/socket.io/",
    customData: { language: language },
    initPayload: config.initPayload || "/greet",
    title: "Nordvik Home",
    subtitle: labels.subtitle || "",
    inputTextFieldHint: labels.hint || "",
    showMessageDate: true,
    params: { storage: config.storage || "local" }
  }, null);

  var buttons = document.querySelectorAll("#quick-replies button");
  Array.prototype.forEach.call(buttons, function (button) {
    button.addEventListener("click", function () {
      if (!window.NordvikChat.send(button.getAttribute("data-message"))) {
        var toggle = document.querySelector(".rw-launcher");
        if (toggle) { toggle.click(); }
        window.setTimeout(function () { window.NordvikChat.send(button.getAttribute("data-message")); }, 500);
      }
    });
  });
})();
