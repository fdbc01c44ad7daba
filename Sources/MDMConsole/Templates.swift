/// The console's Mustache templates. Navigation uses the labels of the seed's resolution steps.
enum Templates {
    static let all: [String: String] = [
        "layout": layout, "login": login, "users": users, "user": user, "restrictions": restrictions, "restriction": restriction,
        "deviceSettings": deviceSettings, "mobility": mobility, "windowsDevices": windowsDevices, "autopilot": autopilot, "autopilotDevices": autopilotDevices, "configuration": configuration, "statusPage": statusPage, "compliance": compliance,
        "troubleshooting": troubleshooting, "message": message, "tenant": tenant,
        "home": home, "device": device, "confirm": confirm, "audit": audit, "fix": fix, "groups": groups, "group": group, "confirmMany": confirmMany,
        "review": review,
    ]

    static let layout = """
    <!DOCTYPE html>
    <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
    <title>{{title}} · winmdm</title>
    <style>
    body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b}header{background:#0f3b63;color:#fff;padding:.6rem 1rem;display:flex;justify-content:space-between;align-items:center}
    header a{color:#fff}header button{color:#fff;background:transparent;border:1px solid #fff;border-radius:3px;cursor:pointer}nav{width:15rem;float:left;padding:1rem;background:#f3f5f8;min-height:100vh;box-sizing:border-box}
    nav a{display:block;padding:.25rem 0;color:#0f3b63;text-decoration:none}nav a.on{font-weight:bold}nav .h{margin-top:.8rem;font-size:.8rem;color:#555;text-transform:uppercase}
    main{margin-left:15rem;padding:1rem 2rem}table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
    .flash{background:#e7f6e7;padding:.5rem}.error{background:#fde8e8;padding:.5rem}button,input[type=submit]{padding:.3rem .8rem}
    label{display:block;margin:.5rem 0}.muted{color:#666}.card{border:1px solid #ddd;padding:.8rem;margin:.8rem 0}.bar{fill:#0f3b63}
    .tiles{display:flex;flex-wrap:wrap;gap:.8rem}.tile{border:1px solid #ddd;padding:.6rem 1rem;min-width:9rem;color:inherit;text-decoration:none}a.tile:hover{border-color:#0f3b63}.tile strong{display:block;font-size:1.6rem}
    details.menu{display:inline-block;position:relative}details.menu>summary{cursor:pointer;list-style:none;padding:.1rem .5rem;border:1px solid #bbb;border-radius:3px}
    details.menu>div{position:absolute;left:0;background:#fff;border:1px solid #bbb;padding:.4rem;z-index:2;white-space:nowrap}details.menu>div>*{display:block;margin:.2rem 0}
    td{overflow-wrap:break-word}.danger{color:#a4262c}
    @media (max-width:1000px){nav{float:none;width:auto;min-height:0;display:flex;flex-wrap:wrap;gap:.2rem 1rem}nav .h{width:100%}main{margin-left:0;padding:1rem}.wide{display:none}}
    </style></head><body>
    <header><strong>winmdm</strong>{{#user}}<span>{{user}} ({{role}}) <form method="post" action="/console/logout" style="display:inline"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Sign out</button></form></span>{{/user}}</header>
    {{#user}}
    <nav>
    <a href="/console/home" {{#section_home}}class="on"{{/section_home}}>Home</a>
    <div class="h">Users</div><a href="/console/users" {{#section_users}}class="on"{{/section_users}}>All users</a>
    <a href="/console/groups" {{#section_groups}}class="on"{{/section_groups}}>Groups</a>
    <div class="h">Devices</div>
    <a href="/console/devices/enrollment-restrictions" {{#section_restrictions}}class="on"{{/section_restrictions}}>Enrollment restrictions</a>
    <a href="/console/devices/device-settings" {{#section_deviceSettings}}class="on"{{/section_deviceSettings}}>Device settings</a>
    <div class="h">Devices › Windows</div>
    <a href="/console/devices/windows" {{#section_windows}}class="on"{{/section_windows}}>Windows devices</a>
    <a href="/console/devices/windows/autopilot/devices" {{#section_autopilotDevices}}class="on"{{/section_autopilotDevices}}>Autopilot devices</a>
    <a href="/console/devices/windows/autopilot" {{#section_autopilot}}class="on"{{/section_autopilot}}>Autopilot deployment profiles</a>
    <a href="/console/devices/windows/configuration" {{#section_configuration}}class="on"{{/section_configuration}}>Configuration profiles</a>
    <a href="/console/devices/windows/esp" {{#section_esp}}class="on"{{/section_esp}}>Enrollment Status Page</a>
    <a href="/console/devices/windows/compliance" {{#section_compliance}}class="on"{{/section_compliance}}>Compliance policies</a>
    <div class="h">Tenant</div>
    <a href="/console/mobility" {{#section_mobility}}class="on"{{/section_mobility}}>Mobility (MDM and MAM)</a>
    <a href="/console/tenant" {{#section_tenant}}class="on"{{/section_tenant}}>Tenant administration</a>
    <a href="/console/troubleshooting" {{#section_troubleshooting}}class="on"{{/section_troubleshooting}}>Troubleshooting + support</a>
    <a href="/console/audit" {{#section_audit}}class="on"{{/section_audit}}>Audit log</a>
    </nav>
    {{/user}}
    <main>
    {{#flash}}<p class="flash" role="status">{{flash}}</p>{{/flash}}{{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
    {{{content}}}
    </main></body></html>
    """

    static let login = """
    <h1>Sign in to winmdm</h1>
    <form method="post" action="/console/login">
    <label>User name<br><input name="username" type="email" autocomplete="username" value="{{username}}" required></label>
    <label>Password<br><input name="password" type="password" autocomplete="current-password" required></label>
    <label>Authentication code <span class="muted">(only if you set up an authenticator app)</span><br><input name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="8"></label>
    <button type="submit">Sign in</button>
    </form>
    <p class="muted">The first administrator's name and password are in the data directory's initial-admin file.</p>
    """

    static let message = "<h1>{{heading}}</h1><p>{{text}}</p>{{#back}}<p><a href=\"{{back}}\">← Back</a></p>{{/back}}"

    static let review = """
    <h1>{{heading}}</h1>
    {{#hasChanges}}<p>Saving makes these changes:</p>
    <table><tr><th>Setting</th><th>Now</th><th>After saving</th></tr>
    {{#changes}}<tr><td>{{field}}</td><td>{{before}}</td><td><strong>{{after}}</strong></td></tr>{{/changes}}</table>
    <form method="post" action="{{action}}"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="reviewed" value="yes">
    {{#fields}}<input type="hidden" name="{{name}}" value="{{value}}">{{/fields}}
    <button type="submit">Save</button> <a href="{{back}}">← Back to the form</a></form>{{/hasChanges}}
    {{^hasChanges}}<p>Nothing would change: the form holds the settings already saved.</p><p><a href="{{back}}">← Back to the form</a></p>{{/hasChanges}}
    """

    static let users = """
    <h1>Users › All users</h1>
    {{#isAdmin}}<details class="card"><summary>New user</summary>
    <form method="post" action="/console/users/new"><input type="hidden" name="csrf" value="{{csrf}}">
    <label>User principal name <input name="upn" type="email" required placeholder="ann@contoso.com" size="40"></label>
    <label>Display name <input name="displayName" size="40"></label>
    <label>Password (at least 8 characters) <input name="password" type="password" required minlength="8" autocomplete="new-password"></label>
    <label>License <select name="license"><option value="">none (cannot enroll yet)</option>{{#products}}<option value="{{sku}}">{{sku}} — {{name}}</option>{{/products}}</select></label>
    <button type="submit">Create</button></form></details>{{/isAdmin}}
    <table><tr><th>User principal name</th><th>Display name</th><th>Licenses</th><th>Devices</th><th>Sign-in</th></tr>
    {{#users}}<tr><td><a href="/console/users/{{upn}}">{{upn}}</a></td><td>{{name}}{{#package}} <span class="muted">(provisioning package account)</span>{{/package}}</td><td>{{licenses}}</td><td>{{devices}}</td><td>{{enabled}}</td></tr>{{/users}}
    </table>
    {{#next}}<p><a href="{{next}}">Next page</a></p>{{/next}}
    """

    static let user = """
    <h1>{{upn}}</h1><p class="muted">{{name}} · groups: {{groups}} · device limit {{limit}} ({{limitName}})</p>
    <details><summary>Properties</summary>
    <form method="post" action="/console/users/{{upn}}/properties"><input type="hidden" name="csrf" value="{{csrf}}">
    <label>User principal name <input name="newUPN" size="40" value="{{upn}}"></label>
    <label>Display name <input name="displayName" size="40" value="{{name}}"></label>
    <button type="submit">Save</button></form></details>
    <h2>Devices</h2>
    <form method="post" action="/console/users/{{upn}}/devices/delete"><input type="hidden" name="csrf" value="{{csrf}}">
    <table><tr><th></th><th>Device</th><th>Type</th><th>Windows</th><th>State</th><th>Enrolled</th></tr>
    {{#devices}}<tr><td><input type="checkbox" name="device" value="{{id}}" aria-label="Select {{name}}"></td><td><a href="/console/devices/windows/{{id}}">{{name}}</a></td><td>{{kind}}</td><td>{{os}}</td><td>{{state}}</td><td>{{enrolled}}</td></tr>{{/devices}}
    {{^devices}}<tr><td colspan="6" class="muted">No devices.</td></tr>{{/devices}}
    </table>
    <button type="submit" name="action" value="delete">Delete</button>
    </form>
    <h2>Licenses</h2>
    <p>{{licenses}}</p>
    {{#isAdmin}}{{#held}}<form method="post" action="/console/users/{{upn}}/licenses/remove" style="display:inline"><input type="hidden" name="csrf" value="{{csrf}}">
    <input type="hidden" name="sku" value="{{.}}"><button type="submit">Remove {{.}}</button></form> {{/held}}{{/isAdmin}}
    <form method="post" action="/console/users/{{upn}}/licenses"><input type="hidden" name="csrf" value="{{csrf}}">
    <label>Assign license <select name="sku">{{#products}}<option value="{{sku}}">{{sku}} — {{name}}</option>{{/products}}</select></label>
    <button type="submit">Assign</button></form>
    """

    static let restrictions = """
    <h1>Devices › Enrollment restrictions</h1>
    <h2>Device limit restrictions</h2>
    <table><tr><th>Priority</th><th>Name</th><th>Device limit</th><th>Assigned to</th></tr>
    {{#limits}}<tr><td>{{priority}}</td><td><a href="/console/devices/enrollment-restrictions/{{id}}">{{name}}</a></td><td>{{limit}}</td><td>{{groups}}</td></tr>{{/limits}}
    </table>
    <h2>Device type restrictions</h2>
    <table><tr><th>Priority</th><th>Name</th><th>Windows (MDM)</th><th>Personally owned</th><th>Home</th><th>Versions</th><th>Assigned to</th></tr>
    {{#platforms}}<tr><td>{{priority}}</td><td><a href="/console/devices/enrollment-restrictions/{{id}}">{{name}}</a></td><td>{{windows}}</td><td>{{personal}}</td><td>{{home}}</td><td>{{versions}}</td><td>{{groups}}</td></tr>{{/platforms}}
    </table>
    <h2>Create restriction</h2>
    <form method="post" action="/console/devices/enrollment-restrictions/create"><input type="hidden" name="csrf" value="{{csrf}}">
    <label>Type <select name="type"><option value="device-limit">Device limit restriction</option><option value="platform">Device type restriction</option></select></label>
    <label>Name <input name="name" required></label>
    <label>Device limit (device limit restrictions; maximum 15) <input name="limit" type="number" min="1" max="15" value="5"></label>
    <label>Assign to groups (one per line)<br><textarea name="groups" rows="2" cols="40"></textarea></label>
    <button type="submit">Create</button></form>
    <p class="muted">A new restriction gets the priority just above the Default. Set Windows, personal, Home and version settings in its Properties.</p>
    """

    static let restriction = """
    <h1>{{name}} › Properties</h1><p class="muted">{{type}} restriction · {{priorityText}} · assigned to {{groups}}</p>
    <form method="post" action="/console/devices/enrollment-restrictions/{{id}}"><input type="hidden" name="csrf" value="{{csrf}}">
    {{#isLimit}}<label>Device limit (maximum 15) <input name="limit" type="number" min="1" max="15" value="{{limit}}"></label>{{/isLimit}}
    {{#isPlatform}}
    <fieldset><legend>Platforms: Windows (MDM)</legend>
    <label><input type="radio" name="windows" value="allow" {{^windowsBlocked}}checked{{/windowsBlocked}}> Allow</label>
    <label><input type="radio" name="windows" value="block" {{#windowsBlocked}}checked{{/windowsBlocked}}> Block</label></fieldset>
    <fieldset><legend>Personally owned</legend>
    <label><input type="radio" name="personal" value="allow" {{^personalBlocked}}checked{{/personalBlocked}}> Allow</label>
    <label><input type="radio" name="personal" value="block" {{#personalBlocked}}checked{{/personalBlocked}}> Block</label></fieldset>
    <fieldset><legend>Windows Home editions</legend>
    <label><input type="radio" name="home" value="allow" {{#homeAllowed}}checked{{/homeAllowed}}> Allow</label>
    <label><input type="radio" name="home" value="block" {{^homeAllowed}}checked{{/homeAllowed}}> Block</label></fieldset>
    <label>Minimum version <input name="min" value="{{min}}" placeholder="10.0.19045"></label>
    <label>Maximum version <input name="max" value="{{max}}"></label>
    {{/isPlatform}}
    {{^isDefault}}
    <label>Assigned groups (one per line)<br><textarea name="groups" rows="2" cols="40">{{groupLines}}</textarea></label>
    <label>Priority (1 is evaluated first) <input name="priority" type="number" min="1" value="{{priority}}"></label>
    {{/isDefault}}
    <button type="submit">Review + Save</button></form>
    {{^isDefault}}<form method="post" action="/console/devices/enrollment-restrictions/{{id}}/delete"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Delete restriction</button></form>{{/isDefault}}
    """

    static let deviceSettings = """
    <h1>Devices › Device settings</h1>
    <form method="post" action="/console/devices/device-settings"><input type="hidden" name="csrf" value="{{csrf}}">
    <fieldset><legend>Users may join devices</legend>
    <label><input type="radio" name="join" value="all" {{#all}}checked{{/all}}> All</label>
    <label><input type="radio" name="join" value="selected" {{#selected}}checked{{/selected}}> Selected</label>
    <label><input type="radio" name="join" value="none" {{#none}}checked{{/none}}> None</label>
    <label>Selected users (one UPN per line)<br><textarea name="users" rows="3" cols="40">{{users}}</textarea></label>
    <label>Selected groups (one name per line)<br><textarea name="groups" rows="3" cols="40">{{groups}}</textarea></label>
    </fieldset>
    <label>Maximum number of devices per user <input name="quota" type="number" min="0" max="1000" value="{{quota}}"></label>
    <button type="submit">Save</button></form>
    """

    static let mobility = """
    <h1>Mobility (MDM and MAM)</h1>
    <form method="post" action="/console/mobility"><input type="hidden" name="csrf" value="{{csrf}}">
    <fieldset><legend>MDM user scope</legend>
    {{#mdm}}<label><input type="radio" name="mdm" value="{{value}}" {{#on}}checked{{/on}}> {{label}}</label>{{/mdm}}
    <label>Groups (Some; one per line)<br><textarea name="mdmGroups" rows="2" cols="40">{{mdmGroups}}</textarea></label></fieldset>
    <fieldset><legend>MAM user scope</legend>
    {{#mam}}<label><input type="radio" name="mam" value="{{value}}" {{#on}}checked{{/on}}> {{label}}</label>{{/mam}}
    <label>Groups (Some; one per line)<br><textarea name="mamGroups" rows="2" cols="40">{{mamGroups}}</textarea></label></fieldset>
    <label>MDM terms of use URL <input name="tou" size="60" value="{{tou}}"></label>
    <label>MDM discovery URL <input name="discovery" size="60" value="{{discovery}}"></label>
    <label>MDM compliance URL <input name="compliance" size="60" value="{{compliance}}"></label>
    <button type="submit">Save</button></form>
    <form method="post" action="/console/mobility/restore-default-urls"><input type="hidden" name="csrf" value="{{csrf}}">
    <button type="submit">Restore default MDM URLs</button></form>
    """

    static let home = """
    <h1>Home</h1>
    <div class="tiles">
    <a class="tile" href="/console/users"><strong>{{users}}</strong>users</a>
    <a class="tile" href="/console/devices/windows"><strong>{{devices}}</strong>enrolled devices</a>
    <a class="tile" href="/console/troubleshooting"><strong>{{failures}}</strong>enrollment failures in 24 h</a>
    <span class="tile"><strong>{{queued}}</strong>commands waiting for a check-in</span>
    <a class="tile" href="/console/devices/windows/autopilot/devices"><strong>{{autopilot}}</strong>Autopilot devices</a>
    <a class="tile" href="/console/devices/windows/configuration"><strong>{{profiles}}</strong>configuration profiles</a>
    </div>
    {{#hasSteps}}<h2>What to do first</h2><ol>{{#steps}}<li><strong>{{title}}</strong><br>{{detail}}{{#link}}<br><code>{{link}}</code>{{/link}}</li>{{/steps}}</ol>{{/hasSteps}}
    <p class="muted">Discovery URL: <code>{{discovery}}</code></p>
    <h2>Recent failures, by cause</h2>
    <table><tr><th>Cause</th><th>Code</th><th>Who</th><th>How many</th><th>Last</th><th></th></tr>
    {{#groups}}<tr><td>{{rule}}{{#noise}} <span class="muted">(sign-in)</span>{{/noise}}<br><span class="muted">{{reason}}</span></td><td>{{code}}</td><td>{{users}}</td><td>{{count}}</td><td>{{last}}</td><td>{{^noise}}<a href="/console/troubleshooting/fix?attempt={{attempt}}">Fix…</a>{{/noise}}{{#noise}}<a href="/console/troubleshooting">Details</a>{{/noise}}</td></tr>{{/groups}}
    {{^hasGroups}}<tr><td colspan="6" class="muted">No enrollment failed in the last 24 hours.</td></tr>{{/hasGroups}}
    </table>
    """

    static let device = """
    <h1>{{name}}</h1>
    <p class="muted">{{os}} · {{kind}} enrollment · {{state}} · <a href="/console/devices/windows">All Windows devices</a></p>
    {{#active}}{{#canAct}}<form method="post" action="/console/devices/windows/{{id}}"><input type="hidden" name="csrf" value="{{csrf}}">
    <button name="action" value="sync">Sync</button> <button name="action" value="reboot">Restart</button>
    {{#hasUser}}<button name="action" value="unassign">Unassign user</button>{{/hasUser}}
    <a href="/console/devices/windows/{{id}}/confirm?action=retire">Retire…</a> <a class="danger" href="/console/devices/windows/{{id}}/confirm?action=delete">Delete…</a></form>{{/canAct}}{{/active}}
    <h2>Overview</h2>
    <table>
    <tr><th>Primary user</th><td>{{user}}</td></tr><tr><th>Ownership</th><td>{{ownership}} <span class="muted">{{ownershipReason}}</span></td></tr>
    <tr><th>Enrolled</th><td>{{enrolled}}</td></tr><tr><th>Last check-in</th><td>{{seen}}</td></tr><tr><th>Next check-in by</th><td>{{next}}</td></tr>
    <tr><th>Certificate</th><td>{{thumbprint}}, expires {{expires}}, renewed {{renewed}}</td></tr>
    <tr><th>DeviceID</th><td>{{deviceID}}</td></tr><tr><th>HWDevID</th><td>{{hwDevID}}</td></tr>
    </table>
    <h2>Compliance</h2>
    <table><tr><th>Policy</th><th>State</th><th>Why</th></tr>{{#compliance}}<tr><td>{{name}}</td><td>{{state}}</td><td>{{#reasons}}{{.}}<br>{{/reasons}}</td></tr>{{/compliance}}
    {{^compliance}}<tr><td colspan="3" class="muted">No compliance policy applies.</td></tr>{{/compliance}}</table>
    <h2>Configuration profiles</h2>
    <table><tr><th>Profile</th><th>Version</th><th>State</th><th>Failed settings</th></tr>{{#profiles}}<tr><td>{{name}}</td><td>{{version}}</td><td>{{state}}</td><td>{{#failed}}{{.}}<br>{{/failed}}</td></tr>{{/profiles}}
    {{^profiles}}<tr><td colspan="4" class="muted">No profile reaches this device.</td></tr>{{/profiles}}</table>
    <h2>Commands</h2>
    <table><tr><th>Created</th><th>Command</th><th>Node</th><th>State</th><th>Status</th></tr>{{#commands}}<tr><td>{{created}}</td><td>{{kind}}<br><span class="muted">{{note}}</span></td><td><code>{{target}}</code></td><td>{{state}}</td><td>{{status}} <span class="muted">{{meaning}}</span></td></tr>{{/commands}}
    {{^commands}}<tr><td colspan="5" class="muted">No commands.</td></tr>{{/commands}}</table>
    <h2>Inventory</h2>
    <table><tr><th>Node</th><th>Value</th></tr>{{#inventory}}<tr><td><code>{{node}}</code></td><td>{{value}}</td></tr>{{/inventory}}
    {{^inventory}}<tr><td colspan="2" class="muted">Not reported yet: Sync asks for it at the next check-in.</td></tr>{{/inventory}}</table>
    <h2>Enrollment attempts</h2>
    <table><tr><th>Time</th><th>Phase</th><th>Result</th><th>Code</th><th>Why</th></tr>{{#attempts}}<tr><td>{{time}}</td><td>{{phase}}</td><td>{{outcome}}</td><td>{{code}}</td><td>{{reason}}</td></tr>{{/attempts}}
    {{^attempts}}<tr><td colspan="5" class="muted">None recorded.</td></tr>{{/attempts}}</table>
    """

    static let confirm = """
    <h1>{{label}} {{name}}?</h1>
    <p>This is what will happen:</p>
    <ul>{{#consequences}}<li>{{.}}</li>{{/consequences}}</ul>
    <form method="post" action="/console/devices/windows/{{id}}"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="confirmed" value="yes">
    <button class="danger" name="action" value="{{action}}">{{label}} {{name}}</button> <a href="/console/devices/windows/{{id}}">Cancel</a></form>
    """

    static let audit = """
    <h1>Audit log</h1>
    <form method="get" action="/console/audit">
    <label style="display:inline-block">Who <input name="actor" value="{{actor}}" placeholder="console:ann@"></label>
    <label style="display:inline-block">Changed <input name="target" value="{{target}}" placeholder="a user, a restriction"></label>
    <label style="display:inline-block">Action <input name="action" value="{{action}}" placeholder="restriction."></label>
    <label style="display:inline-block">Within <input name="since" value="{{since}}" size="5" placeholder="7d"></label>
    <button type="submit">Filter</button> <a href="/console/audit">Clear</a></form>
    <table><tr><th>Time</th><th>Who</th><th>Action</th><th>Changed</th><th>Fields</th></tr>
    {{#entries}}<tr><td>{{time}}</td><td>{{actor}}</td><td>{{action}}</td><td>{{target}}</td><td>{{#changes}}<div><code>{{field}}</code>: {{before}} → {{after}}</div>{{/changes}}<span class="muted">{{more}}</span></td></tr>{{/entries}}
    {{^entries}}<tr><td colspan="5" class="muted">No change matches.</td></tr>{{/entries}}
    </table>
    {{#more}}<p><a href="{{more}}">Show more</a></p>{{/more}}
    <p class="muted">The same with <code>winmdm audit list --actor … --target … --action … --since …</code>.</p>
    """

    static let windowsDevices = """
    <h1>Devices › Windows › Windows devices</h1>
    <form method="get" action="/console/devices/windows"><label style="display:inline-block">Search <input name="q" value="{{q}}" placeholder="name, user or DeviceID"></label>
    <label style="display:inline-block">Sort by <select name="sort">{{#sorts}}<option value="{{value}}" {{#selected}}selected{{/selected}}>{{label}}</option>{{/sorts}}</select></label>
    <button type="submit">Apply</button>{{#q}} <a href="/console/devices/windows">Clear</a>{{/q}}</form>
    {{#summary}}<p class="muted">{{summary}}</p>{{/summary}}
    <table><tr><th></th><th>Device</th><th>Primary user</th><th class="wide">Ownership</th><th>Windows</th><th>Compliance</th><th>Last check-in</th><th class="wide">Next check-in by</th><th class="wide">Certificate expires</th></tr>
    {{#devices}}<tr><td>{{#canAct}}<details class="menu"><summary aria-label="Actions for {{name}}">⋯</summary><div><form method="post" action="/console/devices/windows/{{id}}"><input type="hidden" name="csrf" value="{{csrf}}">
    <button name="action" value="sync">Sync</button><button name="action" value="reboot">Restart</button>
    {{#hasUser}}<button name="action" value="unassign">Unassign user</button>{{/hasUser}}</form>
    <a href="/console/devices/windows/{{id}}/confirm?action=retire">Retire…</a><a class="danger" href="/console/devices/windows/{{id}}/confirm?action=delete">Delete…</a></div></details>{{/canAct}}</td>
    <td><a href="/console/devices/windows/{{id}}">{{name}}</a></td><td>{{#hasUser}}<a href="/console/users/{{upn}}">{{upn}}</a>{{/hasUser}}{{^hasUser}}<span class="muted">none (enrolled by {{upn}})</span>{{/hasUser}}</td><td class="wide">{{ownership}}</td><td>{{os}}</td><td>{{compliance}}{{#reasons}}<br><span class="muted">{{.}}</span>{{/reasons}}</td><td>{{seen}}</td><td class="wide">{{nextCheckIn}}</td><td class="wide">{{expires}} <span class="muted">{{renewed}}</span></td></tr>{{/devices}}
    {{^devices}}<tr><td colspan="9" class="muted">{{#q}}No device matches.{{/q}}{{^q}}No enrolled devices. Home shows how to enroll the first one.{{/q}}</td></tr>{{/devices}}
    </table>
    {{#next}}<p><a href="{{next}}">Next page</a></p>{{/next}}
    <p class="muted">Devices check in {{schedule}}. Sync and Restart wait for that check-in (sooner with push, or when the device restarts, a user signs in, or someone presses Sync on it). Times are UTC.</p>
    """

    static let configuration = """
    <h1>Devices › Windows › Configuration profiles</h1>
    <table><tr><th>Profile</th><th>Version</th><th>Settings</th><th>Assigned to</th><th>Devices</th></tr>
    {{#profiles}}<tr><td>{{name}}<br><span class="muted">{{description}}</span></td><td>{{version}}</td><td>{{#settings}}<div><code style="word-break:break-all">{{uri}}</code> = {{value}}</div>{{/settings}}</td><td>{{assigned}}</td>
    <td>{{succeeded}} succeeded, {{pending}} pending, {{failed}} error, {{conflict}} conflict, {{notApplicable}} not applicable</td></tr>
    {{#failures}}<tr><td></td><td colspan="4" class="muted">{{device}}: <code style="word-break:break-all">{{uri}}</code> status {{status}} {{hresult}}: {{meaning}}</td></tr>{{/failures}}{{/profiles}}
    {{^profiles}}<tr><td colspan="5" class="muted">No configuration profiles yet: winmdm profiles create NAME, or POST /graph/v1.0/deviceManagement/deviceConfigurations.</td></tr>{{/profiles}}
    </table>
    {{#hasConflicts}}<h2>Conflicts</h2><table><tr><th>Node</th><th>Wins</th><th>Loses</th><th>Why</th></tr>
    {{#conflicts}}<tr><td><code>{{uri}}</code></td><td>{{winner}} ({{winningValue}})</td><td>{{loser}} ({{losingValue}})</td><td>{{reason}}</td></tr>{{/conflicts}}</table>{{/hasConflicts}}
    <p class="muted">Devices check in {{schedule}}; a change reaches each device then. Manage profiles with <code>winmdm profiles</code> or Graph.</p>
    """

    static let compliance = """
    <h1>Devices › Windows › Compliance policies</h1>
    <table><tr><th>Policy</th><th>Rules</th><th>Assigned to</th><th>Created</th></tr>
    {{#policies}}<tr><td>{{name}}<br><span class="muted">{{description}}</span></td><td>{{rules}}</td><td>{{assigned}}</td><td>{{created}}</td></tr>{{/policies}}
    {{^policies}}<tr><td colspan="4" class="muted">No compliance policies yet: winmdm compliance create NAME --os-min 10.0.22631 …, or POST /graph/v1.0/deviceManagement/deviceCompliancePolicies.</td></tr>{{/policies}}
    </table>
    <p class="muted">Devices report the values these rules read when a policy changes and every 8 hours; Windows devices shows each device's state with the reasons. A device no policy applies to counts as compliant.</p>
    """

    static let statusPage = """
    <h1>Devices › Windows › Enrollment Status Page</h1>
    <p class="muted">Shown during Windows setup to devices whose user is in an assigned group (the best priority wins), else the Default. Enrollments from Settings get no page.</p>
    <table><tr><th>Priority</th><th>Name</th><th>Assigned to</th><th>Shown</th><th>Waits for</th><th>Timeout</th><th>On error</th></tr>
    {{#pages}}<tr><td>{{priority}}</td><td>{{name}}</td><td>{{groups}}</td><td>{{shown}}</td><td>{{blocking}}</td><td>{{timeout}} min</td><td>{{buttons}}<br><span class="muted">{{message}}</span></td></tr>{{/pages}}
    </table>
    <h2>Recent pages that did not finish</h2>
    <table><tr><th>Time</th><th>User</th><th>Device</th><th>Code</th><th>Why</th><th>Fix</th></tr>
    {{#failures}}<tr><td>{{time}}</td><td>{{upn}}</td><td>{{device}}</td><td>{{code}}</td><td>{{reason}}</td><td><code>{{fix}}</code></td></tr>{{/failures}}
    {{^failures}}<tr><td colspan="6" class="muted">None recorded.</td></tr>{{/failures}}
    </table>
    <p class="muted">Change pages with <code>winmdm esp</code> or Graph (<code>windows10EnrollmentCompletionPageConfiguration</code>).</p>
    """

    static let autopilot = """
    <h1>Devices › Windows › Autopilot deployment profiles</h1>
    <p class="muted">A device gets the oldest-created profile assigned to one of its groups (Autopilot device groups collect devices by group tag). winmdm names it from that profile's template when it enrolls and reports its serial number.</p>
    <table><tr><th>Name</th><th>Join</th><th>Device name template</th><th>Groups</th><th>Devices</th><th>Created</th></tr>
    {{#profiles}}<tr><td>{{name}}</td><td>{{join}}</td><td>{{template}}</td><td>{{groups}}</td><td>{{devices}}</td><td>{{created}}</td></tr>
    {{#warnings}}<tr><td></td><td colspan="5" class="error" role="alert">{{.}}</td></tr>{{/warnings}}{{/profiles}}
    {{^profiles}}<tr><td colspan="6" class="muted">No Autopilot profiles yet.</td></tr>{{/profiles}}
    </table>
    <h2>Create profile</h2>
    <form method="post" action="/console/devices/windows/autopilot"><input type="hidden" name="csrf" value="{{csrf}}">
    <label>Name <input name="name" required value="{{name}}"></label>
    <label>Join to Microsoft Entra ID as <select name="join"><option value="entra">Microsoft Entra joined</option><option value="hybrid">Microsoft Entra hybrid joined</option></select></label>
    <label>Apply device name template <input name="template" value="{{template}}" placeholder="CONTOSO-%SERIAL%"></label>
    <label>Preview for serial <input name="serial" value="{{serial}}"></label>
    <button type="submit" name="action" value="preview">Preview</button> <button type="submit" name="action" value="create">Create</button></form>
    {{#preview}}<p class="card">A device with serial {{serial}} would be named <strong>{{preview}}</strong>.</p>{{/preview}}
    {{#hasProblems}}<div class="error"><p>The device name template breaks these rules:</p><ul>{{#problems}}<li>{{.}}</li>{{/problems}}</ul></div>{{/hasProblems}}
    """

    static let autopilotDevices = """
    <h1>Devices › Windows › Windows enrollment › Devices</h1>
    <form method="post" action="/console/devices/windows/autopilot/devices" enctype="multipart/form-data" class="card"><input type="hidden" name="csrf" value="{{csrf}}">
    <label>Import the CSV that <code>Get-WindowsAutopilotInfo -OutputFile</code> writes (header <code>Device Serial Number,Windows Product ID,Hardware Hash,Group Tag,Assigned User</code>, at most 500 devices)<br>
    <input type="file" name="csv" accept=".csv,text/csv" required></label>
    <button type="submit">Import</button></form>
    {{#uploadError}}<p class="error" role="alert">The file was not imported: {{uploadError}}</p>{{/uploadError}}
    {{#summary}}<h2>Import results</h2><p>{{summary}}</p>
    <table><tr><th>Line</th><th>Serial number</th><th>Result</th><th>Error</th><th>Details</th></tr>
    {{#results}}<tr><td>{{line}}</td><td>{{serial}}</td><td>{{status}}</td><td>{{error}}</td><td>{{message}}</td></tr>{{/results}}
    </table>{{/summary}}
    <h2>Devices</h2>
    <table><tr><th>Serial number</th><th>Manufacturer / model</th><th>Group tag</th><th>Assigned user</th><th>Profile</th><th>Enrollment state</th><th>Imported</th></tr>
    {{#devices}}<tr><td>{{serial}}</td><td>{{model}}</td><td>{{tag}}</td><td>{{user}}</td><td>{{profile}}</td><td>{{state}}</td><td>{{imported}}</td></tr>
    {{#warnings}}<tr><td></td><td colspan="6" class="error" role="alert">{{.}}</td></tr>{{/warnings}}{{/devices}}
    {{^devices}}<tr><td colspan="7" class="muted">No Autopilot devices: import their CSV above, or <code>winmdm autopilot import FILE</code>.</td></tr>{{/devices}}
    </table>
    <p class="muted">Group tags, assigned users and deletion: <code>winmdm autopilot set|remove</code> or Graph <code>windowsAutopilotDeviceIdentities</code>. <code>winmdm autopilot lint</code> lists the warnings above.</p>
    """

    static let fix = """
    <h1>Fix the failure of {{upn}}</h1>
    <p class="muted">{{time}} · {{code}}</p>
    <ul>{{#reasons}}<li>{{.}}</li>{{/reasons}}</ul>
    {{#allowed}}<p class="flash">Nothing to fix: {{upn}} can enroll now.</p>{{/allowed}}
    {{#hasFixes}}<p>Choose one; the narrowest comes first. Each says what it changes:</p>
    {{#fixes}}<form method="post" action="/console/troubleshooting/fix" class="card"><input type="hidden" name="csrf" value="{{csrf}}">
    <input type="hidden" name="attempt" value="{{attempt}}"><input type="hidden" name="fix" value="{{id}}">
    <p><strong>{{description}}</strong><br><span class="{{^narrow}}danger{{/narrow}}{{#narrow}}muted{{/narrow}}">This {{scope}}.</span> <span class="muted">Same as <code>{{command}}</code></span></p>
    {{#isAdmin}}<button type="submit">Apply this fix</button>{{/isAdmin}}</form>{{/fixes}}{{/hasFixes}}
    {{^hasFixes}}{{^allowed}}<p>winmdm cannot make this change itself; follow the fix on the troubleshooting page.</p>{{/allowed}}{{/hasFixes}}
    <p><a href="/console/troubleshooting">Back to Troubleshooting + support</a></p>
    """

    static let groups = """
    <h1>Groups</h1>
    <table><tr><th>Name</th><th>Members</th><th>Devices</th><th>Autopilot group tag</th></tr>
    {{#groups}}<tr><td><a href="/console/groups/{{id}}">{{name}}</a><br><span class="muted">{{description}}</span></td><td>{{members}}</td><td>{{devices}}</td><td>{{tag}}</td></tr>{{/groups}}
    {{^groups}}<tr><td colspan="4" class="muted">No groups yet.</td></tr>{{/groups}}
    </table>
    {{#isAdmin}}<h2>New group</h2>
    <form method="post" action="/console/groups/new"><input type="hidden" name="csrf" value="{{csrf}}">
    <label>Name <input name="name" required size="40"></label><label>Description <input name="description" size="60"></label>
    <label>Autopilot group tag <span class="muted">(optional: the group then holds every Autopilot device with this tag)</span> <input name="tag" size="20"></label>
    <button type="submit">Create</button></form>{{/isAdmin}}
    """

    static let group = """
    <h1>{{name}}</h1><p class="muted">{{description}}{{#tag}} · Autopilot devices tagged {{tag}}{{/tag}} · <a href="/console/groups">All groups</a></p>
    <h2>Members</h2>
    <table><tr><th>User</th><th>Display name</th><th></th></tr>
    {{#members}}<tr><td><a href="/console/users/{{upn}}">{{upn}}</a></td><td>{{name}}</td><td>{{#isAdmin}}<form method="post" action="/console/groups/{{id}}/members"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="upn" value="{{upn}}"><button name="action" value="remove">Remove</button></form>{{/isAdmin}}</td></tr>{{/members}}
    {{^members}}<tr><td colspan="3" class="muted">No members.</td></tr>{{/members}}
    </table>
    {{#isAdmin}}<form method="post" action="/console/groups/{{id}}/members"><input type="hidden" name="csrf" value="{{csrf}}">
    <label>Add member <input name="upn" type="email" required placeholder="ann@contoso.com"></label><button name="action" value="add">Add</button></form>
    <h2>Delete</h2><form method="post" action="/console/groups/{{id}}/delete"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="confirmed" value="yes">
    <button class="danger" type="submit">Delete the group {{name}}</button> <span class="muted">Its members stay; what is assigned to it stops applying to them.</span></form>{{/isAdmin}}
    {{#devices.0}}<h2>Devices (by HWDevID)</h2><ul>{{#devices}}<li><code>{{.}}</code></li>{{/devices}}</ul>{{/devices.0}}
    """

    static let confirmMany = """
    <h1>Delete {{count}} device(s) of {{upn}}?</h1>
    <ul>{{#devices}}<li>{{name}}</li>{{/devices}}</ul>
    <p>Their records are removed and their certificates no longer accepted; they stop counting toward {{upn}}'s device limit. Attempts and the audit log keep their entries.</p>
    <form method="post" action="/console/users/{{upn}}/devices/delete"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="confirmed" value="yes">
    {{#devices}}<input type="hidden" name="device" value="{{id}}">{{/devices}}
    <button class="danger" type="submit">Delete</button> <a href="/console/users/{{upn}}">Cancel</a></form>
    """

    static let tenant = """
    <h1>Tenant administration</h1>
    <h2>Tenant status</h2>
    <form method="post" action="/console/tenant/maintenance"><input type="hidden" name="csrf" value="{{csrf}}">
    <p>Maintenance: <strong>{{maintenance}}</strong> {{#on}}(devices are refused with 0x80180017){{/on}}</p>
    {{#on}}<button type="submit" name="maintenance" value="off">End maintenance</button>{{/on}}{{^on}}<button type="submit" name="maintenance" value="on">Start maintenance</button>{{/on}}
    </form>
    <h2>Domains</h2>
    <table><tr><th>Domain</th><th>Status</th><th></th></tr>
    {{#domains}}<tr><td>{{name}}</td><td>{{status}}</td><td>{{^verified}}<form method="post" action="/console/tenant/domains/verify"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="domain" value="{{name}}"><button type="submit">Verify</button></form>{{/verified}}</td></tr>{{/domains}}
    </table>
    <form method="post" action="/console/tenant/domains"><input type="hidden" name="csrf" value="{{csrf}}">
    <label>Add domain <input name="domain" placeholder="contoso.com"></label><button type="submit">Add</button></form>
    """

    static let troubleshooting = """
    <h1>Troubleshooting + support</h1>
    <form method="post" action="/console/troubleshooting/explain"><input type="hidden" name="csrf" value="{{csrf}}">
    <label>Paste an error, the text of a screenshot, or a log<br><textarea name="text" rows="5" cols="80">{{text}}</textarea></label>
    <button type="submit">Explain</button></form>
    {{#explained}}<div class="card">{{#found}}<h2>{{title}}</h2><p class="muted">{{code}}</p>{{/found}}
    {{#contexts.0}}<p class="muted">Seen in: {{#contexts}}{{.}}; {{/contexts}}</p>{{/contexts.0}}
    <ol>{{#causes}}<li><strong>{{title}}</strong> <span class="muted">{{certainty}}, {{percent}} %</span><br><span class="muted">why: {{why}}</span><br>check: {{confirm}}<br>fix: <code>{{fix}}</code>{{#doctor}}<br>doctor: <code>{{.}}</code>{{/doctor}}</li>{{/causes}}</ol>
    {{#question}}<p><strong>To tell the first two apart:</strong> {{.}}</p>{{/question}}</div>{{/explained}}
    {{#unrecognized}}<p class="error">Not recognised: {{.}}</p>{{/unrecognized}}
    <h2>Enrollment failures</h2>
    <p>Range: {{#ranges}}{{#on}}<strong>{{label}}</strong>{{/on}}{{^on}}<a href="/console/troubleshooting?days={{days}}">{{label}}</a>{{/on}} {{/ranges}}</p>
    {{{chart}}}
    <p class="muted">{{summary}} One row per cause and user; the count includes repeats.</p>
    <table><tr><th>Last</th><th>User</th><th>Code</th><th>Cause</th><th>How many</th><th>Fix</th><th></th></tr>
    {{#failures}}<tr><td>{{last}}</td><td>{{upn}}</td><td>{{code}}</td><td><strong>{{rule}}</strong><br>{{reason}}</td><td>{{count}}</td><td><code>{{fix}}</code></td>
    <td>{{#resolved}}<span class="muted">{{resolved}}</span>{{/resolved}}{{#fixable}}{{#isAdmin}}<a href="/console/troubleshooting/fix?attempt={{attempt}}">Fix…</a>{{/isAdmin}}{{/fixable}}</td></tr>{{/failures}}
    {{^failures}}<tr><td colspan="7" class="muted">No failures an administrator can fix in this range.</td></tr>{{/failures}}
    </table>
    {{#prev}}<a href="{{prev}}">Previous page</a> {{/prev}}{{#next}}<a href="{{next}}">Next page</a>{{/next}}
    {{#hasNoise}}<details><summary>Sign-in failures: {{noiseCount}} (wrong passwords, unknown users, console sign-ins)</summary>
    <table><tr><th>Last</th><th>Who</th><th>Code</th><th>Why</th><th>How many</th></tr>
    {{#noise}}<tr><td>{{last}}</td><td>{{upn}}</td><td>{{code}}</td><td>{{reason}}</td><td>{{count}}</td></tr>{{/noise}}</table></details>{{/hasNoise}}
    <h2>Sign-in lockouts</h2>
    <p class="muted">Failed sign-ins (enrollment, the Federated page, this console) counted per account and per address; the right password is refused while locked. A user's familiar address keeps working.</p>
    <table><tr><th>Who</th><th>State</th><th>Failures</th><th>Last failure</th><th>Lockouts</th><th></th></tr>
    {{#lockouts}}<tr><td>{{subject}}</td><td>{{state}}</td><td>{{failures}}</td><td>{{last}}</td><td>{{lockouts}}</td>
    <td><form method="post" action="/console/troubleshooting/lockouts/clear"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="who" value="{{who}}"><button type="submit">Clear</button></form></td></tr>{{/lockouts}}
    {{^lockouts}}<tr><td colspan="6" class="muted">Nothing is locked out.</td></tr>{{/lockouts}}
    </table>
    """
}
