"""account, contact, systemuser, team, businessunit (schema-breadth.md §6.2-6.6). Lookups to tables the emulator does
not ship (sla, transactioncurrency, processstage, calendar, …) are left out; see docs/decisions.md."""
from __future__ import annotations

from .. import optionsets as os_
from ..model import Attribute
from .columns import On, choice, decimal, double, flag, memo, money, number, text, uid, when


def dna(name: str, display: str) -> Attribute:
    """A "Do not allow …" flag (1 Do Not Allow / 0 Allow)."""
    return flag(name, display, true_label="Do Not Allow", false_label="Allow")


def _contact_prefs(on: On) -> list:
    """Columns account, contact (and lead, in part) share: contact preferences and marketing flags."""
    t = on.name
    return [
        choice("preferredcontactmethodcode", "Preferred Method of Contact", os_.CONTACT_METHOD, default=1, table=t),
        choice("preferredappointmentdaycode", "Preferred Day", os_.APPOINTMENT_DAY, table=t),
        choice("preferredappointmenttimecode", "Preferred Time", os_.APPOINTMENT_TIME, default=1, table=t),
        dna("donotemail", "Do not allow Emails"), dna("donotfax", "Do not allow Faxes"),
        dna("donotphone", "Do not allow Phone Calls"),
        dna("donotpostalmail", "Do not allow Mails"), dna("donotbulkemail", "Do not allow Bulk Emails"),
        flag("donotbulkpostalmail", "Do not allow Bulk Mails"),
        flag("donotsendmm", "Send Marketing Materials", true_label="Do Not Send", false_label="Send"),
        flag("followemail", "Follow Email Activity", default=True, true_label="Allow", false_label="Do Not Allow"),
        flag("marketingonly", "Marketing Only"),
        flag("participatesinworkflow", "Participates in Workflow"),
        when("lastusedincampaign", "Last Date Included in Campaign", create=False),
        when("lastonholdtime", "Last On Hold Time"),
        number("onholdtime", "On Hold Time (Minutes)", -2147483648, read_only=True),
        uid("processid", "Process"), uid("stageid", "Process Stage"),
        text("traversedpath", "Traversed Path", 1250),
        memo("description", "Description", 2000),
        text("telephone1", "Business Phone" if t == "contact" else "Main Phone", 50),
        text("telephone2", "Home Phone" if t == "contact" else "Other Phone", 50),
        text("telephone3", "Telephone 3", 50), text("fax", "Fax", 50),
        text("emailaddress1", "Email", 100), text("emailaddress2", "Email Address 2", 100),
        text("emailaddress3", "Email Address 3", 100),
        text("websiteurl", "Website", 200), text("ftpsiteurl", "FTP Site", 200),
        choice("paymenttermscode", "Payment Terms", os_.PAYMENT_TERMS, table=t),
        *money("creditlimit", "Credit Limit"), flag("creditonhold", "Credit Hold"),
        choice("customersizecode", "Customer Size", os_.DEFAULT_VALUE, table=t),
        choice("shippingmethodcode", "Shipping Method", os_.DEFAULT_VALUE, table=t),
        choice("territorycode", "Territory Code", os_.DEFAULT_VALUE, table=t),
    ]


a = On("account")
ACCOUNT = a.table(
    "accounts", "Account", "Accounts", "accountid", "name",
    text("name", "Account Name", 160, "ApplicationRequired"),
    text("accountnumber", "Account Number", 20),
    text("address1_city", "Address 1: City", 80),  # kept where it stood; the other address1_* columns follow
    choice("accountcategorycode", "Category", "1 Preferred Customer; 2 Standard", table="account"),
    *(choice(c, d, os_.DEFAULT_VALUE, table="account") for c, d in (
        ("accountclassificationcode", "Classification"), ("accountratingcode", "Account Rating"),
        ("businesstypecode", "Business Type"))),
    choice("customertypecode", "Relationship Type", os_.CUSTOMER_TYPE, table="account"),
    choice("industrycode", "Industry", os_.INDUSTRY, table="account"),
    choice("ownershipcode", "Ownership", os_.OWNERSHIP, table="account"),
    *money("revenue", "Annual Revenue"), *money("marketcap", "Market Capitalization"),
    *money("aging30", "Aging 30", read_only=True), *money("aging60", "Aging 60", read_only=True),
    *money("aging90", "Aging 90", read_only=True),
    number("numberofemployees", "Number of Employees", 0, 1000000000),
    number("sharesoutstanding", "Shares Outstanding", 0, 1000000000),
    text("tickersymbol", "Ticker Symbol", 10), text("stockexchange", "Stock Exchange", 20), text("sic", "SIC Code", 20),
    text("yominame", "Yomi Account Name", 160),
    *(c for c in a.address(1) if c.logical_name != "address1_city"), *a.address(2),
    a.lookup("primarycontactid", "Primary Contact", "contact"),
    a.lookup("parentaccountid", "Parent Account", "account"),
    a.lookup("preferredsystemuserid", "Preferred User", "systemuser"),
    a.lookup("masterid", "Master ID", "account", read_only=True), flag("merged", "Merged", read_only=True),
    decimal("exchangerate", "Exchange Rate", 12, 0.000000000001, 100000000000, read_only=True),
    flag("isprivate", "Is Private"),
    text("timespentbymeonemailandmeetings", "Time Spent by me", 1250, read_only=True),
    *_contact_prefs(a),
    states=(os_.ACCOUNT_STATE, os_.ACCOUNT_STATUS),
    description="Business that represents a customer or potential customer.",
)

c = On("contact")
CONTACT = c.table(
    "contacts", "Contact", "Contacts", "contactid", "fullname",
    text("fullname", "Full Name", 160, read_only=True),
    text("firstname", "First Name", 50, "Recommended"), text("lastname", "Last Name", 50, "ApplicationRequired"),
    c.customer("parentcustomerid", "Company Name"),
    text("middlename", "Middle Name", 50), text("nickname", "Nickname", 100), text("salutation", "Salutation", 100),
    text("suffix", "Suffix", 10),
    text("yomifirstname", "Yomi First Name", 150), text("yomimiddlename", "Yomi Middle Name", 150),
    text("yomilastname", "Yomi Last Name", 150), text("yomifullname", "Yomi Full Name", 450, read_only=True),
    text("jobtitle", "Job Title", 100), text("department", "Department", 100),
    c.lookup("accountid", "Account", "account", read_only=True),
    c.lookup("parentcontactid", "Parent Contact", "contact", read_only=True),
    choice("accountrolecode", "Role", os_.choices("contact_accountrolecode",
                                                  "1 Decision Maker; 2 Employee; 3 Influencer", True)),
    *money("annualincome", "Annual Income"),
    choice("customertypecode", "Relationship Type", os_.DEFAULT_VALUE, table="contact"),
    *(choice(col, d, os_.DEFAULT_VALUE, table="contact") for col, d in (
        ("educationcode", "Education"), ("haschildrencode", "Has Children"), ("leadsourcecode", "Lead Source"))),
    choice("familystatuscode", "Marital Status", "1 Single; 2 Married; 3 Divorced; 4 Widowed", table="contact"),
    choice("gendercode", "Gender", "1 Male; 2 Female", table="contact"),
    when("birthdate", "Birthday"), when("anniversary", "Anniversary"),
    number("numberofchildren", "No. of Children", 0, 1000000000),
    text("childrensnames", "Children's Names", 255),
    *(text(col, d, 100) for col, d in (("spousesname", "Spouse/Partner Name"), ("assistantname", "Assistant"),
                                        ("managername", "Manager"))),
    *(text(col, d, 50) for col, d in (
        ("assistantphone", "Assistant Phone"), ("managerphone", "Manager Phone"), ("business2", "Business Phone 2"),
        ("callback", "Callback Number"), ("company", "Company Phone"), ("home2", "Home Phone 2"), ("pager", "Pager"),
        ("governmentid", "Government"), ("employeeid", "Employee"),
        ("externaluseridentifier", "External User Identifier"),
        ("mobilephone", "Mobile Phone"))),
    *c.address(1), *c.address(2), *c.address(3),
    flag("isbackofficecustomer", "Back Office Customer"),
    c.lookup("preferredsystemuserid", "Preferred User", "systemuser"),
    c.lookup("masterid", "Master ID", "contact", read_only=True), flag("merged", "Merged", read_only=True),
    decimal("exchangerate", "Exchange Rate", 12, 0.000000000001, 100000000000, read_only=True),
    *_contact_prefs(c),
    states=(os_.CONTACT_STATE, os_.CONTACT_STATUS),
    description="Person with whom a business unit has a relationship, such as customer, supplier, and colleague.",
)

u = On("systemuser")
SYSTEMUSER = u.table(
    "systemusers", "User", "Users", "systemuserid", "fullname",
    text("fullname", "Full Name", 200, read_only=True),
    text("firstname", "First Name", 256, "ApplicationRequired"), text("lastname", "Last Name", 256,
                                                                      "ApplicationRequired"),
    text("internalemailaddress", "Primary Email", 100, "SystemRequired"),
    text("domainname", "User Name", 1024, "SystemRequired"),
    text("title", "Title", 128), flag("isdisabled", "Status", true_label="Disabled", false_label="Enabled"),
    text("middlename", "Middle Name", 50), text("nickname", "Nickname", 50), text("salutation", "Salutation", 20),
    text("jobtitle", "Job Title", 100), text("skills", "Skills", 100),
    text("yomifirstname", "Yomi First Name", 64), text("yomilastname", "Yomi Last Name", 64),
    text("yomifullname", "Yomi Full Name", 200, read_only=True),
    text("personalemailaddress", "Personal Email", 100), text("mobilealertemail", "Mobile Alert Email", 100),
    text("homephone", "Home Phone", 50), text("mobilephone", "Mobile Phone", 64),
    text("employeeid", "Employee", 100), text("governmentid", "Government", 100),
    text("address1_line1", "Street 1", 1024), text("address1_city", "City", 128),
    text("address1_postalcode", "ZIP/Postal Code", 40), text("address1_stateorprovince", "State/Province", 128),
    text("address1_country", "Country/Region", 128), text("address1_telephone1", "Main Phone", 64),
    u.lookup("businessunitid", "Business Unit", "businessunit", required="SystemRequired"),
    u.lookup("parentsystemuserid", "Manager", "systemuser"),
    u.lookup("queueid", "Default Queue", "queue"),
    choice("accessmode", "Access Mode", "0 Read-Write; 1 Administrative; 2 Read; 3 Support User; 4 Non-interactive; "
           "5 Delegated Admin", default=0, required="SystemRequired", table="systemuser"),
    choice("caltype", "License Type", "0 Professional; 1 Administrative; 2 Basic; 3 Device Professional; "
           "4 Device Basic; 5 Essential; 6 Device Essential; 7 Enterprise; 8 Device Enterprise; 9 Sales; 10 Service; "
           "11 Field Service; 12 Project Service", default=0, required="SystemRequired", table="systemuser"),
    flag("islicensed", "User Licensed", required="SystemRequired"),
    flag("isintegrationuser", "Integration user mode", required="SystemRequired"),
    flag("setupuser", "Restricted Access Mode", required="SystemRequired"),
    flag("issyncwithdirectory", "Is Sync with Directory"), flag("displayinserviceviews", "Display in Service Views"),
    choice("invitestatuscode", "Invitation Status", "0 Invitation Not Sent; 1 Invited; 2 Invitation Near Expired; "
           "3 Invitation Expired; 4 Invitation Accepted; 5 Invitation Rejected; 6 Invitation Revoked", default=0,
           table="systemuser"),
    choice("emailrouteraccessapproval", "Primary Email Status", "0 Empty; 1 Approved; 2 Pending Approval; 3 Rejected",
           default=0, table="systemuser"),
    choice("incomingemaildeliverymethod", "Incoming Email Delivery Method", "0 None; 1 Microsoft Dynamics 365 for "
           "Outlook; 2 Server-Side Synchronization or Email Router; 3 Forward Mailbox", default=0, table="systemuser"),
    choice("outgoingemaildeliverymethod", "Outgoing Email Delivery Method", "0 None; 1 Microsoft Dynamics 365 for "
           "Outlook; 2 Server-Side Synchronization or Email Router", default=0, table="systemuser"),
    choice("preferredaddresscode", "Preferred Address", "1 Mailing Address; 2 Other Address", table="systemuser"),
    choice("preferredemailcode", "Preferred Email", os_.DEFAULT_VALUE, table="systemuser"),
    choice("preferredphonecode", "Preferred Phone", "1 Main Phone; 2 Other Phone; 3 Home Phone; 4 Mobile Phone",
           table="systemuser"),
    uid("azureactivedirectoryobjectid", "Azure AD Object ID"), uid("applicationid", "Application ID"),
    text("photourl", "Photo URL", 200), text("sharepointemailaddress", "SharePoint Email Address", 1024),
    ownership="BusinessOwned",
    description="Person with access to the Microsoft CRM system and who owns objects in the Microsoft CRM database.",
)

tm = On("team")
TEAM = tm.table(
    "teams", "Team", "Teams", "teamid", "name",
    text("name", "Team Name", 160, "SystemRequired"),
    choice("teamtype", "Team Type", os_.choices("team_type", "0 Owner; 1 Access; 2 Security Group; 3 Office Group",
                                                True), default=0, required="SystemRequired"),
    choice("membershiptype", "Membership Type", os_.choices(
        "team_membershiptype", "0 Members and guests; 1 Members; 2 Owners; 3 Guests", True), default=0,
        required="SystemRequired"),
    tm.lookup("businessunitid", "Business Unit", "businessunit", required="SystemRequired"),
    tm.lookup("administratorid", "Administrator", "systemuser"),
    memo("description", "Description", 2000), text("emailaddress", "Email", 100),
    uid("azureactivedirectoryobjectid", "Object Id for a group"),
    flag("isdefault", "Is Default", read_only=True), flag("systemmanaged", "Is System Managed", read_only=True),
    tm.lookup("queueid", "Default Queue", "queue"),
    text("yominame", "Yomi Name", 160),
    ownership="BusinessOwned",
    description="Collection of system users that routinely collaborate.",
)

bu = On("businessunit")
BUSINESSUNIT = bu.table(
    "businessunits", "Business Unit", "Business Units", "businessunitid", "name",
    text("name", "Name", 160, "SystemRequired"),
    bu.lookup("parentbusinessunitid", "Parent Business", "businessunit"),
    text("divisionname", "Division", 100), text("emailaddress", "Email", 100), text("costcenter", "Cost Center", 100),
    text("fileasname", "File as Name", 100), text("stockexchange", "Stock Exchange", 20),
    text("tickersymbol", "Ticker Symbol", 10), memo("description", "Description", 2000),
    text("websiteurl", "Website", 200), text("ftpsiteurl", "FTP Site", 200),
    flag("isdisabled", "Is Disabled", read_only=True), text("disabledreason", "Disable Reason", 500, read_only=True),
    double("creditlimit", "Credit Limit", 0, 1000000000, 2),
    *bu.address(1, composite=False, freight=False), *bu.address(2, composite=False, freight=False),
    number("inheritancemask", "Inheritance Mask", 0), number("utcoffset", "UTC Offset", -1500, 1500),
    flag("workflowsuspended", "Workflow Suspended"),
    uid("usergroupid", "User Group ID", read_only=True),
    ownership="BusinessOwned",
    description="Business, division, or department in the Microsoft Dynamics 365 database.",
)
