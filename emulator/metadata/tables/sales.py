"""lead (schema-breadth.md §6.7, Dynamics 365 Sales)."""
from __future__ import annotations

from .. import optionsets as os_
from .columns import On, choice, double, flag, memo, money, number, text, when
from .core import dna

le = On("lead")
LEAD = le.table(
    "leads", "Lead", "Leads", "leadid", "fullname",
    text("fullname", "Name", 160, read_only=True), text("yomifullname", "Yomi Full Name", 450, read_only=True),
    text("subject", "Topic", 300, "ApplicationRequired"),
    text("firstname", "First Name", 50, "Recommended"), text("lastname", "Last Name", 50, "ApplicationRequired"),
    text("middlename", "Middle Name", 50),
    text("yomifirstname", "Yomi First Name", 150), text("yomilastname", "Yomi Last Name", 150),
    text("yomimiddlename", "Yomi Middle Name", 150),
    text("companyname", "Company Name", 100), text("yomicompanyname", "Yomi Company Name", 100),
    text("jobtitle", "Job Title", 100), text("salutation", "Salutation", 100),
    text("emailaddress1", "Email", 100), text("emailaddress2", "Email Address 2", 100),
    text("emailaddress3", "Email Address 3", 100),
    text("telephone1", "Business Phone", 50), text("telephone2", "Home Phone", 50),
    text("telephone3", "Other Phone", 50), text("fax", "Fax", 50), text("mobilephone", "Mobile Phone", 20),
    text("websiteurl", "Website", 200),
    choice("industrycode", "Industry", os_.INDUSTRY, table="lead"),
    choice("leadsourcecode", "Lead Source", "1 Advertisement; 2 Employee Referral; 3 External Referral; 4 Partner; "
           "5 Public Relations; 6 Seminar; 7 Trade Show; 8 Web; 9 Word of Mouth; 10 Other", table="lead"),
    choice("leadqualitycode", "Rating", "1 Hot; 2 Warm; 3 Cold", default=2, table="lead"),
    choice("preferredcontactmethodcode", "Preferred Method of Contact", os_.CONTACT_METHOD, default=1, table="lead"),
    choice("prioritycode", "Priority", os_.DEFAULT_VALUE, table="lead"),
    choice("initialcommunication", "Initial Communication", "0 Contacted; 1 Not Contacted", table="lead"),
    *money("revenue", "Annual Revenue"), number("numberofemployees", "No. of Employees", 0, 1000000),
    *money("budgetamount", "Budget Amount"), *money("estimatedamount", "Est. Value", max_value=1000000000000),
    double("estimatedvalue", "Est. Value (deprecated)", 0, 1000000000, 2),
    when("estimatedclosedate", "Est. Close Date"),
    flag("decisionmaker", "Decision Maker?"), flag("evaluatefit", "Evaluate Fit"),
    flag("confirminterest", "Confirm Interest", true_label="No", false_label="Yes"),
    le.customer("customerid", "Customer"),
    le.lookup("parentaccountid", "Existing Account", "account"),
    le.lookup("parentcontactid", "Existing Contact", "contact"),
    le.lookup("accountid", "Account", "account", read_only=True),
    le.lookup("contactid", "Contact", "contact", read_only=True),
    le.lookup("originatingcaseid", "Originating Case", "incident"),
    le.lookup("masterid", "Master ID", "lead", read_only=True), flag("merged", "Merged", read_only=True),
    memo("description", "Description", 2000),
    *le.address(1), *le.address(2),
    dna("donotemail", "Do not allow Emails"), dna("donotfax", "Do not allow Faxes"),
    dna("donotphone", "Do not allow Phone Calls"), dna("donotpostalmail", "Do not allow Mails"),
    dna("donotbulkemail", "Do not allow Bulk Emails"), flag("donotsendmm", "Marketing Material",
                                                                     true_label="Do Not Send", false_label="Send"),
    flag("followemail", "Follow Email Activity", default=True, true_label="Allow", false_label="Do Not Allow"),
    when("lastusedincampaign", "Last Campaign Date", create=False),
    states=(os_.LEAD_STATE, os_.LEAD_STATUS),
    description="Prospect or potential sales opportunity.",
)

